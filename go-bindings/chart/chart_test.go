package chart

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// draw writes c to path and reads the image back.
func draw(t *testing.T, path string, c Chart) image.Image {
	t.Helper()
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
	return img
}

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
	img := draw(t, path, c)
	if b := img.Bounds(); b.Dx() != width || b.Dy() < 2*panelH {
		t.Fatalf("image is %v", b)
	}
	if err := WritePNG(path, Chart{}); err == nil {
		t.Fatal("an empty chart was drawn")
	}
}

// A marker near the right edge has its label left of its line, whole, and
// labels that would overlap go one row down.
func TestMarkerLabelsStayInside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.png")
	vals := make([]uint64, 200)
	for i := range vals {
		vals[i] = 5
	}
	label := "ledger winds down"
	c := Chart{Title: "t", First: 1, Series: []Series{{Name: "x", Values: vals, Color: color.RGBA{60, 110, 200, 255}}},
		Markers: []Marker{{Block: 195, Label: label}, {Block: 190, Label: "upgrade all"}}}
	img := draw(t, path, c)
	plotW := width - marginL - marginR
	x := marginL + int(float64(194)*float64(plotW)/200)
	inkAt := func(x0, x1, y0, y1 int) int {
		n := 0
		for y := y0; y < y1; y++ {
			for px := x0; px < x1; px++ {
				r, g, b, _ := img.At(px, y).RGBA()
				if uint8(r>>8) == markerInk.R && uint8(g>>8) == markerInk.G && uint8(b>>8) == markerInk.B {
					n++
				}
			}
		}
		return n
	}
	top := marginTop
	w := labelWidth(label)
	x190 := marginL + int(float64(189)*float64(plotW)/200) // the other marker's line
	if inkAt(x-4-w, x190, top, top+16) == 0 {
		t.Fatal("the label of a marker at the right edge is not left of its line")
	}
	if inkAt(x+2, width, top, top+16) != 0 {
		t.Fatal("ink right of the last marker's line: its label runs off the image")
	}
	if inkAt(x190-4-labelWidth("upgrade all"), x190, top+16, top+30) == 0 {
		t.Fatal("the overlapping label did not go one row down")
	}
}
