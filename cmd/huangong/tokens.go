package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"huangong/api"
	"huangong/api/cards"
	"huangong/store"
)

// tokenListCmd prints a village's tokens: who each speaks for, when it
// was made, when it ends and when it was last used. Never a secret.
func tokenListCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("token list")
	village := fs.Int64("village", 0, "village ID; defaults to the only village, else the demo village")
	household := fs.Int64("household", 0, "only this household's cards 只看某户")
	all := fs.Bool("all", false, "also revoked and expired tokens 包括已作废、已过期的")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withVillage(ctx, *db, *village, func(st *store.Store, v *store.Village) error {
		t := newTable("编号 ID", "角色 role", "对象 who", "组 group", "发放 created", "到期 expires", "最近使用 last used", "状态 state")
		now := st.Now()
		loc := v.Location()
		stamp := func(at *time.Time) string {
			if at == nil {
				return "-"
			}
			return at.In(loc).Format("2006-01-02 15:04")
		}
		p := store.Page{Limit: 200}
		for {
			rows, next, err := st.ListTokens(ctx, v.ID, store.TokenFilter{HouseholdID: *household, Live: !*all}, p)
			if err != nil {
				return err
			}
			for _, tok := range rows {
				who, group := tok.Label, "-"
				switch {
				case tok.Household != nil:
					who, group = tok.Household.HeadName+"户", strconv.Itoa(tok.Household.Group)
				case tok.Team != nil:
					who = tok.Team.Name
				case tok.Role == store.RoleCadre:
					who = v.Name + "村干部"
				}
				t.add(strconv.FormatInt(tok.ID, 10), tok.Role, who, group, stamp(&tok.CreatedAt), stamp(tok.ExpiresAt), stamp(tok.LastUsedAt), tokenState(tok, now))
			}
			if next == 0 {
				break
			}
			p.After = next
		}
		return t.write(stdout)
	})
}

func tokenState(t *store.Token, now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "已作废 revoked"
	case !t.Live(now):
		return "已过期 expired"
	}
	return "有效 live"
}

// tokenRevokeCmd revokes a token by its ID, as the revoke-token operation
// does, and writes the audit line.
func tokenRevokeCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("token revoke")
	village := fs.Int64("village", 0, "village ID; defaults to the only village, else the demo village")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if fs.NArg() != 1 || err != nil || id <= 0 {
		return usageErrorf("usage: huangong token revoke ID  (the ID from huangong token list)")
	}
	return withVillage(ctx, *db, *village, func(st *store.Store, v *store.Village) error {
		tok, err := st.RevokeToken(ctx, v.ID, id)
		auditCLI(ctx, st, v, "revoke-token", fmt.Sprintf("/v1/tokens/%d", id), err)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "已作废令牌 %d revoked token %d (%s)；持有它的手机在下一次请求时退出登录 the phones signed in with it are signed out on their next request\n", tok.ID, tok.ID, tok.Label)
		return nil
	})
}

// auditCLI writes the audit line of a change made from the command line,
// which opens the database directly and so passes no API middleware.
func auditCLI(ctx context.Context, st *store.Store, v *store.Village, action, target string, err error) {
	status := 200
	if err != nil {
		var ok bool
		if status, ok = api.StatusOf(store.ErrorCode(err)); !ok {
			status = 500
		}
	}
	_ = st.AppendAudit(context.WithoutCancel(ctx), &store.AuditEntry{VillageID: &v.ID, Actor: "cli", Action: action,
		Target: target, Status: status, Outcome: api.AuditOutcome(status, false)})
}

// tokenCardsCmd prints a sheet of cards: a new card for every household of
// a village group (or of the village), each revoking the household's
// previous card, as an A4 PDF to cut out.
func tokenCardsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, db := newFlags("token cards")
	village := fs.Int64("village", 0, "village ID; defaults to the only village, else the demo village")
	group := fs.Int("group", 0, "村民小组 the village group whose households get cards")
	all := fs.Bool("all", false, "every household of the village 全村")
	base := fs.String("base", "", "the pages' address as the phones reach it; default: the village's publicUrl, else HUANGONG_BASE_URL")
	out := fs.String("pdf", "", "the PDF file to write 输出文件")
	days := daysFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*group > 0) == *all || *out == "" || *group < 0 {
		return usageErrorf("usage: huangong token cards --group G|--all --pdf FILE [--base URL]")
	}
	font, err := cards.SystemFont()
	if err != nil {
		return err
	}
	return withVillage(ctx, *db, *village, func(st *store.Store, v *store.Village) error {
		link, err := cardBase(*base, v, stderr)
		if err != nil {
			return err
		}
		sheet, err := cards.Issue(ctx, st, v, *group, link, expiresIn(st, *days))
		auditCLI(ctx, st, v, "reissue-token", fmt.Sprintf("cards %s", cards.Title(v, *group)), err)
		if err != nil {
			return err
		}
		var pdf bytes.Buffer
		if err := cards.Write(&pdf, font, cards.Title(v, *group), sheet.Cards); err != nil {
			return err
		}
		if err := writeSecretFile(*out, pdf.Bytes()); err != nil {
			return fmt.Errorf("%w (the %d new cards are minted: run again to print them anew)", err, len(sheet.Cards))
		}
		pages := (len(sheet.Cards) + cards.PerPage - 1) / cards.PerPage
		fmt.Fprintf(stdout, "已写入 wrote %s: %d 张卡 cards on %d 页 pages (A4), links at %s\n", *out, len(sheet.Cards), pages, link)
		fmt.Fprintf(stdout, "这些农户的旧卡已作废 the previous cards of these households are revoked: %d 张 cards\n", sheet.Revoked)
		fmt.Fprintln(stdout, "新卡即钥匙：打印后请删除此文件。 The cards are keys: delete the file once printed.")
		return nil
	})
}

// cardBase is the address a card's link starts with: --base, else the
// village's public address, else HUANGONG_BASE_URL. A card pointing at
// this machine's own name is refused nowhere, but said out loud: no phone
// reaches localhost.
func cardBase(flagValue string, v *store.Village, stderr io.Writer) (string, error) {
	raw := flagValue
	if raw == "" {
		raw = v.PublicURL
	}
	if raw == "" {
		raw = os.Getenv("HUANGONG_BASE_URL")
	}
	if raw == "" {
		return "", usageErrorf("卡片需要手机能访问的地址 the cards need the address the phones reach: pass --base http://192.168.1.10:8080, " +
			"or set the village's publicUrl (PATCH /v1/village) or HUANGONG_BASE_URL")
	}
	base, err := store.CleanPublicURL(raw)
	if err != nil {
		return "", usageErrorf("--base %q is not an http(s) address like http://192.168.1.10:8080", raw)
	}
	if u, _ := url.Parse(base); isLocal(u.Hostname()) {
		fmt.Fprintf(stderr, "huangong: 注意 warning: the cards point at %s, which only this computer reaches; phones need its network address (--base)\n", base)
	}
	return base, nil
}

func isLocal(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" || host == "0.0.0.0"
}

// daysFlag is --days, a token's lifetime when it should not be the
// village's default.
func daysFlag(fs *flag.FlagSet) *int {
	return fs.Int("days", 0, "有效天数 days the token lives; default: the village's tokenDays (365), 90 for a cadre")
}

// expiresIn is the expiry --days asks for; nil keeps the default. The
// store refuses one out of range.
func expiresIn(st *store.Store, days int) *time.Time {
	if days == 0 {
		return nil
	}
	t := st.Now().UTC().AddDate(0, 0, days)
	return &t
}

// withVillage opens the database and runs fn on the chosen village.
func withVillage(ctx context.Context, db string, id int64, fn func(*store.Store, *store.Village) error) error {
	st, err := store.Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := pickVillage(ctx, st, id)
	if err != nil {
		return err
	}
	return fn(st, v)
}

// writeSecretFile writes a file only its owner reads: it holds tokens. A
// file written over keeps no wider mode it had.
func writeSecretFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
