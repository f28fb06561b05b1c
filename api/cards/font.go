package cards

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// FontEnv names a font file to use instead of the ones FontPaths finds.
const FontEnv = "HUANGONG_CARD_FONT"

// FontPaths are where the common systems keep a font with the Chinese
// characters names are written in, tried in order. Debian and Ubuntu:
// apt-get install fonts-noto-cjk.
var FontPaths = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", // Debian, Ubuntu: fonts-noto-cjk
	"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",      // Arch
	"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc", // Fedora
	"/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", // fonts-wqy-microhei
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/System/Library/Fonts/PingFang.ttc", // macOS
	"/System/Library/Fonts/STHeiti Medium.ttc",
	`C:\Windows\Fonts\msyh.ttc`, // Windows: Microsoft YaHei
	`C:\Windows\Fonts\simhei.ttf`,
}

// Font is an OpenType or TrueType face (CFF or glyf outlines, a single
// font or one face of a collection) that the cards draw their text with.
// It is safe for concurrent use.
type Font struct {
	f    *sfnt.Font
	Path string
	Name string // PostScript name, e.g. NotoSansCJKsc-Regular
}

// probe is a character every usable face must have: 户, household.
const probe = '户'

// LoadFont reads a font file. A collection (.ttc) gives its Simplified
// Chinese face when it names one (…SC…, …sc-…), else its first face that
// has Chinese characters.
func LoadFont(path string) (*Font, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("card font: %w", err)
	}
	coll, err := sfnt.ParseCollection(b)
	if err != nil {
		return nil, fmt.Errorf("card font %s: %w", path, err)
	}
	var buf sfnt.Buffer
	var fallback *Font
	for i := range coll.NumFonts() {
		f, err := coll.Font(i)
		if err != nil {
			continue
		}
		if gi, err := f.GlyphIndex(&buf, probe); err != nil || gi == 0 {
			continue
		}
		name, _ := f.Name(&buf, sfnt.NameIDPostScript)
		font := &Font{f: f, Path: path, Name: name}
		if strings.Contains(name, "SC") || strings.Contains(name, "sc-") || strings.Contains(name, "GB") {
			return font, nil
		}
		if fallback == nil {
			fallback = font
		}
	}
	if fallback == nil {
		return nil, fmt.Errorf("card font %s: no face in it has Chinese characters 字体不含汉字", path)
	}
	return fallback, nil
}

// ErrNoFont says no font with Chinese characters was found.
var ErrNoFont = errors.New("找不到中文字体 no font with Chinese characters found: install fonts-noto-cjk (apt-get install fonts-noto-cjk) or set " + FontEnv + " to a .ttf/.otf/.ttc file")

var system struct {
	once sync.Once
	font *Font
	err  error
}

// SystemFont is the font named by HUANGONG_CARD_FONT, else the first of
// FontPaths that loads. It is read once per process.
func SystemFont() (*Font, error) {
	system.once.Do(func() {
		if p := os.Getenv(FontEnv); p != "" {
			system.font, system.err = LoadFont(p)
			return
		}
		for _, p := range FontPaths {
			if _, err := os.Stat(p); err != nil {
				continue
			}
			if f, err := LoadFont(p); err == nil {
				system.font = f
				return
			}
		}
		system.err = ErrNoFont
	})
	return system.font, system.err
}

// unitsPerEm is the scale the glyphs are read at: PDF text space has 1000
// units to the em, and reading outlines at that ppem gives them in it.
const unitsPerEm = 1000

// glyph is one character's outline in 1/1000 em, y up, and its advance.
type glyph struct {
	advance                float64
	path                   []byte // PDF path operators, filled by the caller
	minX, minY, maxX, maxY float64
}

func (f *Font) glyph(buf *sfnt.Buffer, r rune) (glyph, error) {
	gi, err := f.f.GlyphIndex(buf, r)
	if err != nil {
		return glyph{}, err
	}
	ppem := fixed.I(unitsPerEm)
	adv, err := f.f.GlyphAdvance(buf, gi, ppem, 0)
	if err != nil {
		return glyph{}, err
	}
	segs, err := f.f.LoadGlyph(buf, gi, ppem, nil)
	if err != nil {
		return glyph{}, err
	}
	g := glyph{advance: fx(adv)}
	first := true
	pt := func(p fixed.Point26_6) (float64, float64) {
		x, y := fx(p.X), -fx(p.Y) // sfnt's y grows downwards
		if first || x < g.minX {
			g.minX = x
		}
		if first || x > g.maxX {
			g.maxX = x
		}
		if first || y < g.minY {
			g.minY = y
		}
		if first || y > g.maxY {
			g.maxY = y
		}
		first = false
		return x, y
	}
	var path strings.Builder
	var cx, cy float64 // the current point, for turning quadratics into cubics
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			cx, cy = pt(s.Args[0])
			fmt.Fprintf(&path, "%s %s m\n", num(cx), num(cy))
		case sfnt.SegmentOpLineTo:
			cx, cy = pt(s.Args[0])
			fmt.Fprintf(&path, "%s %s l\n", num(cx), num(cy))
		case sfnt.SegmentOpQuadTo:
			qx, qy := pt(s.Args[0])
			x, y := pt(s.Args[1])
			// A quadratic is the cubic with its control points two thirds
			// of the way to the quadratic's one.
			fmt.Fprintf(&path, "%s %s %s %s %s %s c\n",
				num(cx+2*(qx-cx)/3), num(cy+2*(qy-cy)/3), num(x+2*(qx-x)/3), num(y+2*(qy-y)/3), num(x), num(y))
			cx, cy = x, y
		case sfnt.SegmentOpCubeTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			cx, cy = pt(s.Args[2])
			fmt.Fprintf(&path, "%s %s %s %s %s %s c\n", num(x1), num(y1), num(x2), num(y2), num(cx), num(cy))
		}
	}
	g.path = []byte(path.String())
	return g, nil
}

func fx(v fixed.Int26_6) float64 { return float64(v) / 64 }
