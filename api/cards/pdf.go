package cards

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"

	"golang.org/x/image/font/sfnt"
)

// doc is a PDF being built: numbered objects, written out with their
// cross-reference table at the end. Only what a sheet of cards needs.
type doc struct {
	objs [][]byte // object n is objs[n-1]
}

// reserve numbers an object whose body is set later.
func (d *doc) reserve() int {
	d.objs = append(d.objs, nil)
	return len(d.objs)
}

func (d *doc) set(n int, body string) { d.objs[n-1] = []byte(body) }

func (d *doc) add(body string) int {
	n := d.reserve()
	d.set(n, body)
	return n
}

// stream adds a Flate-compressed stream with the dictionary entries given.
func (d *doc) stream(dict string, data []byte) int {
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	w.Write(data)
	w.Close()
	n := d.reserve()
	d.objs[n-1] = fmt.Appendf(nil, "<< %s /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream", dict, z.Len(), z.Bytes())
	return n
}

func (d *doc) writeTo(w io.Writer, root, info int) error {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(d.objs))
	for i, o := range d.objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(d.objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(d.objs)+1, root, info, xref)
	_, err := w.Write(b.Bytes())
	return err
}

// num prints a coordinate with at most two decimals.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// pdfString is a literal string for the document information.
func pdfString(s string) string {
	u := utf16.Encode([]rune(s))
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, c := range u {
		fmt.Fprintf(&b, "%04X", c)
	}
	b.WriteString(">")
	return b.String()
}

// typeset draws text with Type 3 fonts made from the font's outlines: each
// subset holds up to 255 characters, each drawn as a filled path, with a
// ToUnicode map so the text can be searched and copied. A CJK font's
// outlines are CFF, which simple PDF libraries cannot embed, and the whole
// font is many megabytes; a card sheet needs a few hundred characters.
type typeset struct {
	font    *Font
	buf     sfnt.Buffer
	glyphs  map[rune]glyph
	code    map[rune]placed
	subsets [][]rune // subset i is font /T{i}; a rune's code is its index + 1
}

type placed struct{ subset, code int }

func newTypeset(f *Font) *typeset {
	return &typeset{font: f, glyphs: map[rune]glyph{}, code: map[rune]placed{}}
}

func (t *typeset) glyph(r rune) glyph {
	g, ok := t.glyphs[r]
	if !ok {
		var err error
		if g, err = t.font.glyph(&t.buf, r); err != nil {
			g = glyph{advance: 500} // a character the font cannot draw leaves a gap
		}
		t.glyphs[r] = g
	}
	return g
}

// width is the advance of s at size points.
func (t *typeset) width(s string, size float64) float64 {
	var w float64
	for _, r := range s {
		w += t.glyph(r).advance
	}
	return w * size / unitsPerEm
}

// show appends the operators that draw s at (x, y), baseline, size points.
func (t *typeset) show(b *bytes.Buffer, s string, x, y, size float64) {
	fmt.Fprintf(b, "BT %s %s Td\n", num(x), num(y))
	cur := -1
	for _, r := range s {
		p, ok := t.code[r]
		if !ok {
			t.glyph(r)
			if len(t.subsets) == 0 || len(t.subsets[len(t.subsets)-1]) == 255 {
				t.subsets = append(t.subsets, nil)
			}
			last := len(t.subsets) - 1
			t.subsets[last] = append(t.subsets[last], r)
			p = placed{subset: last, code: len(t.subsets[last])}
			t.code[r] = p
		}
		if p.subset != cur {
			if cur >= 0 {
				b.WriteString("> Tj\n")
			}
			fmt.Fprintf(b, "/T%d %s Tf <", p.subset, num(size))
			cur = p.subset
		}
		fmt.Fprintf(b, "%02X", p.code)
	}
	if cur >= 0 {
		b.WriteString("> Tj\n")
	}
	b.WriteString("ET\n")
}

// fonts writes the subsets as Type 3 fonts and returns the font resource
// dictionary's entries.
func (t *typeset) fonts(d *doc) string {
	var res strings.Builder
	for i, runes := range t.subsets {
		var procs, diffs, widths strings.Builder
		var cmap strings.Builder
		var minX, minY, maxX, maxY float64
		for j, r := range runes {
			g := t.glyphs[r]
			minX, minY, maxX, maxY = min(minX, g.minX), min(minY, g.minY), max(maxX, g.maxX), max(maxY, g.maxY)
			body := fmt.Appendf(nil, "%s 0 %s %s %s %s d1\n%sf\n", num(g.advance), num(g.minX), num(g.minY), num(g.maxX), num(g.maxY), g.path)
			proc := d.stream("", body)
			fmt.Fprintf(&procs, "/g%d %d 0 R ", j+1, proc)
			fmt.Fprintf(&diffs, "/g%d ", j+1)
			fmt.Fprintf(&widths, "%s ", num(g.advance))
			if j%100 == 0 {
				if j > 0 {
					cmap.WriteString("endbfchar\n")
				}
				fmt.Fprintf(&cmap, "%d beginbfchar\n", min(100, len(runes)-j))
			}
			fmt.Fprintf(&cmap, "<%02X> <", j+1)
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&cmap, "%04X", u)
			}
			cmap.WriteString(">\n")
		}
		cmap.WriteString("endbfchar\n")
		toUnicode := d.stream("", []byte("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"+
			"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"+
			"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"+
			"1 begincodespacerange\n<01> <FF>\nendcodespacerange\n"+cmap.String()+
			"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"))
		font := d.add(fmt.Sprintf("<< /Type /Font /Subtype /Type3 /FontBBox [%s %s %s %s] /FontMatrix [0.001 0 0 0.001 0 0] "+
			"/CharProcs << %s>> /Encoding << /Type /Encoding /Differences [1 %s] >> /FirstChar 1 /LastChar %d /Widths [%s] "+
			"/Resources << >> /ToUnicode %d 0 R >>",
			num(minX), num(minY), num(maxX), num(maxY), procs.String(), diffs.String(), len(runes), widths.String(), toUnicode))
		fmt.Fprintf(&res, "/T%d %d 0 R ", i, font)
	}
	return res.String()
}
