// Package cards lays out sign-in cards: a household's head, its village
// group, the QR code of its sign-in link and its short link in large type
// (for typing), with two lines of instructions in large type, eight cut-out cards to an A4 page,
// as a PDF a village office prints. The text is drawn with a Chinese font
// found on the system (see SystemFont); the PDF keeps the text searchable.
package cards

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// Card is one household's sign-in card.
type Card struct {
	Name        string // 户主, the head of household
	Group       int    // 村民小组
	Village     string
	HouseholdID int64
	Link        string // the sign-in link the QR code carries
	Short       string // the short link printed in large type, for typing (/c/7KQ-M4XP-2RT)
}

// The two lines every card says, large: what the code is for, and what to
// do when the card is lost.
const (
	Instruction = "扫码查看您家的换工记录"
	LostCard    = "丢失请找村干部作废"
)

// A4 in points, and the grid of cards on it.
const (
	pageW, pageH = 595.28, 841.89
	margin       = 28.35 // 1 cm
	cols, rows   = 2, 4
	perPage      = cols * rows
	cardW        = (pageW - 2*margin) / cols
	cardH        = (pageH - 2*margin) / rows
	pad          = 12
	qrSize       = 108 // 38 mm: an old phone's camera reads it at arm's length
)

// PerPage is how many cards a page holds.
const PerPage = perPage

// Write writes the cards as an A4 PDF, eight to a page, with dashed lines
// to cut along. title names the sheet in the document's properties.
func Write(w io.Writer, font *Font, title string, cards []Card) error {
	if len(cards) == 0 {
		return fmt.Errorf("cards: no cards to print 没有要打印的卡片")
	}
	d := &doc{}
	ts := newTypeset(font)
	pagesObj := d.reserve()
	resources := d.reserve()
	var kids []string
	for start := 0; start < len(cards); start += perPage {
		var content bytes.Buffer
		var images []string
		for i, c := range cards[start:min(start+perPage, len(cards))] {
			x := margin + float64(i%cols)*cardW
			y := pageH - margin - float64(i/cols+1)*cardH
			img, err := qrImage(d, c.Link)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("Q%d", img)
			images = append(images, fmt.Sprintf("/%s %d 0 R", name, img))
			drawCard(&content, ts, c, x, y, name)
		}
		contents := d.stream("", content.Bytes())
		kids = append(kids, fmt.Sprintf("%d 0 R", d.add(fmt.Sprintf(
			"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << /Font %d 0 R /XObject << %s >> >> /Contents %d 0 R >>",
			pagesObj, num(pageW), num(pageH), resources, strings.Join(images, " "), contents))))
	}
	d.set(resources, "<< "+ts.fonts(d)+">>")
	d.set(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids)))
	root := d.add(fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R /Lang (zh-CN) >>", pagesObj))
	info := d.add(fmt.Sprintf("<< /Title %s /Producer (huangong) >>", pdfString(title)))
	return d.writeTo(w, root, info)
}

// drawCard draws one card with its bottom left corner at (x, y).
func drawCard(b *bytes.Buffer, ts *typeset, c Card, x, y float64, qr string) {
	// The cut line.
	fmt.Fprintf(b, "q 0.6 G 0.5 w [4 3] 0 d %s %s %s %s re S Q\n", num(x), num(y), num(cardW), num(cardH))
	top := y + cardH - pad
	qx, qy := x+cardW-pad-qrSize, top-qrSize
	fmt.Fprintf(b, "q %s 0 0 %s %s %s cm /%s Do Q\n", num(qrSize), num(qrSize), num(qx), num(qy), qr)

	// The name, as large as the space left of the code allows.
	room := qx - x - 2*pad
	size := 28.0
	if w := ts.width(c.Name, size); w > room {
		size = max(12, size*room/w)
	}
	left := x + pad
	ts.show(b, c.Name, left, top-size*0.9, size)
	line := top - size*0.9 - 22
	ts.show(b, fmt.Sprintf("第%d组", c.Group), left, line, 15)
	if c.Village != "" {
		ts.show(b, c.Village, left, line-20, 13)
	}
	if c.HouseholdID != 0 {
		ts.show(b, fmt.Sprintf("户号 %d", c.HouseholdID), left, line-38, 10)
	}

	// The instructions under the code, in large type, then the short
	// link, as large as the card's width allows: a farmer without a camera
	// types it. A card with no short link (none is minted without one)
	// would show the long link, small.
	inst := 18.0
	width := cardW - 2*pad
	first := qy - 4 - inst*0.88
	ts.show(b, Instruction, left, first, fit(ts, Instruction, inst, width))
	ts.show(b, LostCard, left, first-inst*1.2, fit(ts, LostCard, inst, width))
	if c.Short != "" {
		ts.show(b, c.Short, left, y+pad, fit(ts, c.Short, 16, width))
		return
	}
	small := 6.0
	lines := wrap(ts, c.Link, small, width)
	for i, l := range lines {
		ts.show(b, l, left, y+pad-2+float64(len(lines)-1-i)*small*1.2, small)
	}
}

// fit shrinks size until s fits in width.
func fit(ts *typeset, s string, size, width float64) float64 {
	if w := ts.width(s, size); w > width {
		return size * width / w
	}
	return size
}

// wrap breaks s into lines no wider than width, anywhere: a link has no
// spaces to break at.
func wrap(ts *typeset, s string, size, width float64) []string {
	var lines []string
	var cur strings.Builder
	var w float64
	for _, r := range s {
		rw := ts.width(string(r), size)
		if w+rw > width && cur.Len() > 0 {
			lines = append(lines, cur.String())
			cur.Reset()
			w = 0
		}
		cur.WriteRune(r)
		w += rw
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// qrImage adds the QR code of text as an image, one pixel a module with
// the quiet zone, to be scaled up without smoothing.
func qrImage(d *doc, text string) (int, error) {
	bits, err := QR(text)
	if err != nil {
		return 0, err
	}
	n := len(bits)
	pix := make([]byte, 0, n*n)
	for _, row := range bits {
		for _, dark := range row {
			if dark {
				pix = append(pix, 0)
			} else {
				pix = append(pix, 0xff)
			}
		}
	}
	return d.stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Interpolate false", n, n), pix), nil
}

// QR encodes text as a QR code's modules, dark true, with the quiet zone
// of four modules a scanner needs around it.
func QR(text string) ([][]bool, error) {
	qr, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	var m bitmap
	if err := qr.Save(&m); err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	const quiet = 4
	n := len(m.bits)
	out := make([][]bool, n+2*quiet)
	for y := range out {
		out[y] = make([]bool, n+2*quiet)
		if y >= quiet && y < n+quiet {
			copy(out[y][quiet:], m.bits[y-quiet])
		}
	}
	return out, nil
}

// bitmap is a qrcode.Writer that keeps the modules.
type bitmap struct{ bits [][]bool }

func (b *bitmap) Write(mat qrcode.Matrix) error { b.bits = mat.Bitmap(); return nil }
func (b *bitmap) Close() error                  { return nil }
