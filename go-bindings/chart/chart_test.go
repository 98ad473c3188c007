package chart

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestWritePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	vals := make([]uint64, 200)
	for i := range vals {
		vals[i] = uint64(i % 17 * 100)
	}
	c := Chart{Title: "test", First: 1, Series: []Series{
		{Name: "computrons", Values: vals, Limit: 1200, Color: color.RGBA{60, 110, 200, 255}},
		{Name: "cranks", Values: vals, Color: color.RGBA{60, 160, 90, 255}},
	}, Markers: []Marker{{Block: 120, Label: "oracle terminated"}}}
	if err := WritePNG(path, c); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() < 2*panelH {
		t.Fatalf("image is %v", b)
	}
	if err := WritePNG(path, Chart{}); err == nil {
		t.Fatal("an empty chart was drawn")
	}
}
