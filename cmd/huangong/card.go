package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"
	"strings"

	"huangong/api"
	"huangong/api/cards"
	"huangong/store"
)

// cardCmd mints a sign-in card: a new token for a household (or a cadre)
// as a link to the web pages and a QR code of it, in the terminal and, if
// asked, as a PNG to print. A cadre hands each household its card; the
// household scans it once and its phone stays signed in.
//
// With reissue (huangong token reissue) the household's previous cards are
// revoked in the same step: a lost card stops working as the new one is
// printed.
func cardCmd(ctx context.Context, args []string, stdout, stderr io.Writer, reissue bool) error {
	name := "token card"
	if reissue {
		name = "token reissue"
	}
	fs, db := newFlags(name)
	household := fs.Int64("household", 0, "农户 the household the card signs in")
	role := fs.String("role", "", "household (with --household) or cadre")
	village := fs.Int64("village", 0, "village ID; defaults to the only village, else the demo village")
	base := fs.String("base", "", "the pages' address as the phones reach it; default: the village's publicUrl, else HUANGONG_BASE_URL")
	pngOut := fs.String("png", "", "also write the QR code to this PNG file, for printing")
	label := fs.String("label", "", "备注 a note on whose card this is")
	days := daysFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *role == "" {
		*role = store.RoleHousehold
	}
	switch {
	case reissue && *role != store.RoleHousehold:
		return errors.New("usage: huangong token reissue --household ID [--base URL] [--png FILE]: a household's card")
	case *role == store.RoleHousehold && *household == 0:
		return fmt.Errorf("usage: huangong %s --household ID [--base URL] [--png FILE], or --role cadre", name)
	case *role == store.RoleCadre && *household != 0:
		return errors.New("a cadre's card is for the village, not a household: leave out --household")
	case *role != store.RoleHousehold && *role != store.RoleCadre:
		return fmt.Errorf("cards are for households and cadres, not %q: a team leader uses the CLI with `huangong token create`", *role)
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := pickVillage(ctx, st, *village)
	if err != nil {
		return err
	}
	linkBase, err := cardBase(*base, v, stderr)
	if err != nil {
		return err
	}
	t := &store.Token{VillageID: v.ID, Role: *role, Label: *label, ExpiresAt: expiresIn(st, *days)}
	who := v.Name + " 村干部 cadre"
	if *role == store.RoleHousehold {
		h, err := st.GetHousehold(ctx, v.ID, *household)
		if err != nil {
			return err
		}
		t.HouseholdID = &h.ID
		who = fmt.Sprintf("%s · %s户 (household %d)", v.Name, h.HeadName, h.ID)
		if t.Label == "" {
			t.Label = "card " + h.HeadName
		}
	}
	var card *store.IssuedCard
	if reissue {
		card, err = st.ReissueCard(ctx, v.ID, *household, t)
		auditCLI(ctx, st, v, "reissue-token", fmt.Sprintf("/v1/households/%d/card", *household), err)
	} else {
		card, err = st.CreateCard(ctx, t)
	}
	if err != nil {
		return err
	}
	link := api.SigninLink(linkBase, card.Secret)
	bits, err := cards.QR(link)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n登录链接 sign-in link:\n%s\n\n", who, link)
	writeTerminalQR(stdout, bits)
	if card.Code != "" {
		fmt.Fprintf(stdout, "\n短链接（可手输，不分大小写） short link, to type (any case, dashes optional):\n%s\n",
			api.ShortLink(linkBase, card.Code))
	}
	fmt.Fprintln(stdout, "\n扫码登录；卡片即钥匙，请妥善保管，丢失请找村干部作废。")
	fmt.Fprintln(stdout, "Scan to sign in. The card is a key: keep it safe; a cadre revokes a lost one.")
	if reissue {
		fmt.Fprintf(stdout, "该户旧卡已作废 the household's previous cards are revoked: %s\n", idList(card.Revoked))
	}
	if *pngOut != "" {
		if err := writePNGQR(*pngOut, bits); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", *pngOut)
	}
	return nil
}

// writeTerminalQR draws two rows of modules per line with half blocks,
// black on white whatever the terminal's colours, so phones can scan it
// from the screen.
func writeTerminalQR(w io.Writer, bits [][]bool) {
	const on, off = "\x1b[30;47m", "\x1b[0m"
	for y := 0; y < len(bits); y += 2 {
		var line strings.Builder
		line.WriteString(on)
		for x := range bits[y] {
			top := bits[y][x]
			bottom := y+1 < len(bits) && bits[y+1][x]
			switch {
			case top && bottom:
				line.WriteString("█")
			case top:
				line.WriteString("▀")
			case bottom:
				line.WriteString("▄")
			default:
				line.WriteString(" ")
			}
		}
		line.WriteString(off)
		fmt.Fprintln(w, line.String())
	}
}

// writePNGQR writes the code at 10 pixels a module: about 5 cm across on
// an ordinary printer, easy for an old phone's camera.
func writePNGQR(path string, bits [][]bool) error {
	const scale = 10
	n := len(bits)
	img := image.NewPaletted(image.Rect(0, 0, n*scale, n*scale), color.Palette{color.White, color.Black})
	for y := range n * scale {
		for x := range n * scale {
			if bits[y/scale][x/scale] {
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	// The code is the token itself: the file is its owner's alone.
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return writeSecretFile(path, buf.Bytes())
}

func idList(ids []int64) string {
	if len(ids) == 0 {
		return "无 none"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}
