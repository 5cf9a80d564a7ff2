package picture_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/shopcache/shop/internal/picture"
)

func TestPicturesAreDeterministicAndDistinct(t *testing.T) {
	heart := picture.Subject{SKU: "85123A", Name: "WHITE HANGING HEART T-LIGHT HOLDER", Category: "candles and lights"}
	if !bytes.Equal(picture.SVG(heart), picture.SVG(heart)) || picture.Version(heart) != picture.Version(heart) {
		t.Fatal("the same subject drew two pictures")
	}
	d := picture.DesignOf(heart)
	if d.Background != "#f4f1ea" || d.Initials != "WH" || d.Glyph != "candles and lights" {
		t.Errorf("design of the heart holder = %+v; want white, WH, the candle glyph", d)
	}
	red := heart
	red.SKU, red.Name = "85123B", "RED HANGING HEART T-LIGHT HOLDER"
	if picture.DesignOf(red).Background == d.Background {
		t.Error("a red and a white holder share a background")
	}
	renamed := heart
	renamed.Name += " (NEW)"
	if picture.Version(renamed) == picture.Version(heart) {
		t.Error("a renamed product keeps its picture's version: browsers would keep the old drawing")
	}
	// Names are text in the SVG: markup in a name stays text, and the file stays XML.
	hostile := picture.Subject{SKU: "X", Name: `<script>alert(1)</script> & "quotes"`, Category: "bags"}
	svg := picture.SVG(hostile)
	if bytes.Contains(svg, []byte("<script")) {
		t.Errorf("a name's markup got into the SVG: %s", svg)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not XML: %v\n%s", err, svg)
		}
	}
	if !strings.HasPrefix(string(svg), "<svg ") {
		t.Errorf("not an SVG: %.40s", svg)
	}
}
