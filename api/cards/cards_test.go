package cards_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/ledongthuc/pdf"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api/cards"
	"huangong/seed"
)

// MustFont is the system's Chinese font; CI installs fonts-noto-cjk, and a
// machine without one fails here, naming the package to install.
func MustFont(tb testing.TB) *cards.Font {
	tb.Helper()
	f, err := cards.SystemFont()
	require.NoError(tb, err)
	return f
}

// PageText is the text of each page of a PDF, read with a PDF parser: each
// text object a line, each character mapped back through its font's
// ToUnicode map.
func PageText(tb testing.TB, raw []byte) []string {
	tb.Helper()
	var pages []string
	for _, lines := range PageLines(tb, raw) {
		var text strings.Builder
		for _, l := range lines {
			text.WriteString(l.Text + "\n")
		}
		pages = append(pages, text.String())
	}
	return pages
}

// Line is one text object of a page: its text and its type size.
type Line struct {
	Text string
	Size float64
}

// PageLines is the text objects of each page of a PDF, with their sizes.
func PageLines(tb testing.TB, raw []byte) [][]Line {
	tb.Helper()
	r, err := pdf.NewReader(bytes.NewReader(raw), int64(len(raw)))
	require.NoError(tb, err)
	var pages [][]Line
	for i := 1; i <= r.NumPage(); i++ {
		p := r.Page(i)
		maps := map[string]map[byte]string{}
		for _, name := range p.Fonts() {
			maps[name] = toUnicode(tb, p.Font(name).V.Key("ToUnicode"))
		}
		var lines []Line
		var text strings.Builder
		var cur map[byte]string
		var size float64
		pdf.Interpret(p.V.Key("Contents"), func(stk *pdf.Stack, op string) {
			args := make([]pdf.Value, stk.Len())
			for i := len(args) - 1; i >= 0; i-- {
				args[i] = stk.Pop()
			}
			switch op {
			case "Tf":
				cur = maps[args[0].Name()]
				require.NotNil(tb, cur, "font %s without a ToUnicode map", args[0].Name())
				size = args[1].Float64()
			case "Tj":
				for _, c := range []byte(args[0].RawString()) {
					s, ok := cur[c]
					require.True(tb, ok, "code %02X not in the font's map", c)
					text.WriteString(s)
				}
			case "ET":
				lines = append(lines, Line{Text: text.String(), Size: size})
				text.Reset()
			}
		})
		pages = append(pages, lines)
	}
	return pages
}

var bfchar = regexp.MustCompile(`<([0-9A-F]{2})> <([0-9A-F]+)>`)

func toUnicode(tb testing.TB, v pdf.Value) map[byte]string {
	tb.Helper()
	rc := v.Reader()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(tb, err)
	m := map[byte]string{}
	for _, sm := range bfchar.FindAllStringSubmatch(string(b), -1) {
		code, _ := strconv.ParseUint(sm[1], 16, 8)
		var units []uint16
		for i := 0; i+4 <= len(sm[2]); i += 4 {
			u, _ := strconv.ParseUint(sm[2][i:i+4], 16, 16)
			units = append(units, uint16(u))
		}
		m[byte(code)] = string(utf16.Decode(units))
	}
	return m
}

// DecodeQRs reads the QR codes of a page's images back to their text,
// scaling the modules up as a printer would.
func DecodeQRs(tb testing.TB, raw []byte, page int) []string {
	tb.Helper()
	r, err := pdf.NewReader(bytes.NewReader(raw), int64(len(raw)))
	require.NoError(tb, err)
	xo := r.Page(page).Resources().Key("XObject")
	require.NotEmpty(tb, xo.Keys(), "no image on page %d", page)
	var texts []string
	for _, k := range xo.Keys() {
		texts = append(texts, decodeQR(tb, xo.Key(k)))
	}
	return texts
}

func decodeQR(tb testing.TB, im pdf.Value) string {
	tb.Helper()
	w, h := int(im.Key("Width").Int64()), int(im.Key("Height").Int64())
	rc := im.Reader()
	pix, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(tb, err)
	require.Len(tb, pix, w*h)
	const scale = 6
	img := image.NewGray(image.Rect(0, 0, w*scale, h*scale))
	for y := range h * scale {
		for x := range w * scale {
			img.SetGray(x, y, color.Gray{Y: pix[(y/scale)*w+x/scale]})
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(tb, err)
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	require.NoError(tb, err)
	return res.GetText()
}

func TestWrite_150NamedCards(t *testing.T) {
	font := MustFont(t)
	v := seed.Generate(seed.Config{Name: "示例村", Households: 150, Groups: 6, Teams: 3, Seed: 7})
	var cs []cards.Card
	for i, h := range v.Households {
		cs = append(cs, cards.Card{Name: h.Household.HeadName, Group: h.Household.Group, Village: "示例村", HouseholdID: int64(i + 1),
			Link:  fmt.Sprintf("http://192.168.1.10:8080/signin?token=hg_%052d", i),
			Short: fmt.Sprintf("http://192.168.1.10:8080/c/7KQ-%04d-2RT", i)})
	}
	require.Len(t, cs, 150)
	var out bytes.Buffer
	require.NoError(t, cards.Write(&out, font, "示例村 登录卡", cs))
	t.Logf("150 cards: %d pages, %d KiB", (150+cards.PerPage-1)/cards.PerPage, out.Len()/1024)

	pages := PageText(t, out.Bytes())
	require.Len(t, pages, (150+cards.PerPage-1)/cards.PerPage)
	for i, c := range cs {
		page := pages[i/cards.PerPage]
		assert.Contains(t, page, c.Name+"\n", "card %d's name on page %d", i, i/cards.PerPage+1)
		assert.Contains(t, page, fmt.Sprintf("第%d组\n", c.Group))
		assert.Contains(t, page, c.Short+"\n", "card %d's short link, printed on one line", i)
		assert.NotContains(t, strings.ReplaceAll(page, "\n", ""), c.Link, "the long link is the QR code's only")
	}
	for _, l := range PageLines(t, out.Bytes())[0] {
		if strings.Contains(l.Text, "/c/") {
			assert.GreaterOrEqual(t, l.Size, 12.0, "the short link %q is in large type", l.Text)
		}
	}
	assert.Equal(t, cards.PerPage, strings.Count(pages[0], cards.Instruction), "every card says what the code is for")
	assert.Equal(t, cards.PerPage, strings.Count(pages[0], cards.LostCard), "and what to do when it is lost")

	var links []string
	for _, c := range cs[:cards.PerPage] {
		links = append(links, c.Link)
	}
	assert.ElementsMatch(t, links, DecodeQRs(t, out.Bytes(), 1), "each code of the first page is a card's link")
}

func TestWrite_NoCards(t *testing.T) {
	err := cards.Write(io.Discard, MustFont(t), "", nil)
	assert.Error(t, err)
}
