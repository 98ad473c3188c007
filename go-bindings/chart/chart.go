// Package chart draws per-block work as a PNG: one bar panel per series,
// blocks along the x axis, with labelled markers for events (a vat
// terminated, a state sync). Standard library image/png plus the basic
// bitmap font from golang.org/x/image; no other dependencies.
package chart

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Series is one panel: a value per block.
type Series struct {
	Name   string
	Values []uint64 // index i is block First+i
	Limit  uint64   // drawn as a horizontal line when > 0 (e.g. the compute budget)
	Color  color.RGBA
}

// Marker is an event at a block.
type Marker struct {
	Block uint64
	Label string
}

// Chart is what to draw.
type Chart struct {
	Title   string
	First   uint64 // the block of Values[0]
	Series  []Series
	Markers []Marker
}

const (
	width      = 1200
	panelH     = 170
	marginL    = 90
	marginR    = 20
	marginTop  = 40
	panelGap   = 30
	axisBottom = 40
)

var (
	background = color.RGBA{255, 255, 255, 255}
	ink        = color.RGBA{40, 40, 40, 255}
	grid       = color.RGBA{225, 225, 225, 255}
	markerInk  = color.RGBA{200, 40, 40, 255}
	limitInk   = color.RGBA{230, 140, 0, 255}
)

// WritePNG draws c into path.
func WritePNG(path string, c Chart) error {
	n := 0
	for _, s := range c.Series {
		if len(s.Values) > n {
			n = len(s.Values)
		}
	}
	if n == 0 || len(c.Series) == 0 {
		return fmt.Errorf("chart: nothing to draw")
	}
	height := marginTop + len(c.Series)*(panelH+panelGap) + axisBottom
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fill(img, img.Bounds(), background)
	text(img, marginL, 22, c.Title, ink)
	plotW := width - marginL - marginR
	barW := float64(plotW) / float64(n)
	xOf := func(i int) int { return marginL + int(float64(i)*barW) }

	for p, s := range c.Series {
		top := marginTop + p*(panelH+panelGap)
		bottom := top + panelH
		max := s.Limit
		for _, v := range s.Values {
			if v > max {
				max = v
			}
		}
		if max == 0 {
			max = 1
		}
		// frame, grid and labels
		for _, frac := range []float64{0.25, 0.5, 0.75} {
			y := bottom - int(frac*float64(panelH))
			hline(img, marginL, width-marginR, y, grid)
		}
		hline(img, marginL, width-marginR, bottom, ink)
		vline(img, marginL, top, bottom, ink)
		text(img, 8, top+12, s.Name, ink)
		text(img, 8, top+28, "max "+short(max), ink)
		text(img, 8, bottom, "0", ink)
		// bars
		for i, v := range s.Values {
			h := int(float64(v) / float64(max) * float64(panelH))
			x0, x1 := xOf(i), xOf(i+1)
			if x1-x0 > 2 {
				x1-- // a hairline between bars
			}
			fill(img, image.Rect(x0, bottom-h, x1, bottom), s.Color)
		}
		if s.Limit > 0 {
			y := bottom - int(float64(s.Limit)/float64(max)*float64(panelH))
			for x := marginL; x < width-marginR; x += 6 {
				hline(img, x, x+3, y, limitInk)
			}
			text(img, width-marginR-200, y-3, "budget "+short(s.Limit), limitInk)
		}
		// markers; labels in the first panel, right of the line unless that
		// runs off the image, one row lower when a row's last label is in the way
		var rowEnd []int
		for _, m := range c.Markers {
			if m.Block < c.First || m.Block >= c.First+uint64(n) {
				continue
			}
			x := xOf(int(m.Block - c.First))
			for y := top; y < bottom; y += 6 {
				vline(img, x, y, y+3, markerInk)
			}
			if p == 0 {
				w := labelWidth(m.Label)
				lx := x + 4
				if lx+w > width-4 {
					lx = x - 4 - w
				}
				row := 0
				for row < len(rowEnd) && rowEnd[row] > lx-6 {
					row++
				}
				if row == len(rowEnd) {
					rowEnd = append(rowEnd, 0)
				}
				rowEnd[row] = lx + w
				text(img, lx, top+12+14*row, m.Label, markerInk)
			}
		}
	}
	// x axis: block numbers
	axisY := marginTop + len(c.Series)*(panelH+panelGap) - panelGap + 16
	step := 10
	for n/step > 12 {
		step *= 2
	}
	for i := 0; i < n; i += step {
		text(img, xOf(i), axisY, fmt.Sprint(c.First+uint64(i)), ink)
	}
	text(img, marginL+plotW/2-20, axisY+18, "block height", ink)

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// labelWidth is the width in pixels of s in the chart's 7x13 face.
func labelWidth(s string) int { return 7 * len([]rune(s)) }

func short(v uint64) string {
	switch {
	case v >= 10_000_000:
		return fmt.Sprintf("%dM", v/1_000_000)
	case v >= 10_000:
		return fmt.Sprintf("%dk", v/1_000)
	}
	return fmt.Sprint(v)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) { fill(img, image.Rect(x0, y, x1, y+1), c) }
func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) { fill(img, image.Rect(x, y0, x+1, y1), c) }

func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13,
		Dot: fixed.Point26_6{X: fixed.I(x), Y: fixed.I(y)}}
	d.DrawString(s)
}
