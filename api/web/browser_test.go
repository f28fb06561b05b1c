package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api/web"
	"huangong/store"
)

// browserPath finds Chromium. The browser tests never skip: without a
// browser they fail and say how to install one (CI installs it in .ci/run).
func browserPath(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("HUANGONG_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Fatal("the browser tests need Chromium: apt-get install -y --no-install-recommends chromium fonts-noto-cjk " +
		"(or set HUANGONG_CHROMIUM to a Chrome or Chromium binary)")
	return ""
}

// artifacts is where the browser tests leave their screenshots:
// $HUANGONG_ARTIFACTS, or .artifacts/web at the repository's root.
func artifacts(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("HUANGONG_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".artifacts", "web")
	}
	dir, err := filepath.Abs(dir)
	require.NoError(tb, err)
	require.NoError(tb, os.MkdirAll(dir, 0o755))
	return dir
}

// browser starts one headless Chromium for a test; each signed-in person
// gets a browser context of its own (its own cookies) in it.
func browser(tb testing.TB) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserPath(tb)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	tb.Cleanup(cancelCtx)
	require.NoError(tb, chromedp.Do(ctx), "start Chromium")
	return ctx
}

// person is one browser context: a household's phone, the cadre's PC.
func person(tb testing.TB, b context.Context) context.Context {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	tb.Cleanup(cancelT)
	return ctx
}

// run runs one action that returns a value and fails the test on error.
func run[T any](tb testing.TB, ctx context.Context, a chromedp.Action[T]) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(tb, err)
	return v
}

func screenshot(tb testing.TB, ctx context.Context, dir, name string) {
	tb.Helper()
	png := run(tb, ctx, chromedp.FullScreenshot(100))
	p := filepath.Join(dir, name)
	require.NoError(tb, os.WriteFile(p, png, 0o644))
	tb.Logf("screenshot: %s", p)
}

type css = chromedp.CSS

// workdays shows half days as the pages do: 9 → "4.5".
func workdays(half int64) string { return strconv.FormatFloat(float64(half)/2, 'f', -1, 64) }

// signIn opens the sign-in link of a token on a screen of the given size,
// as a phone that scanned the card does.
func (e *env) signIn(token string, screen chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(screen, chromedp.Navigate(e.url+"/signin?token="+url.QueryEscape(token)))
}

var desktop = chromedp.EmulateViewport(1280, 900)

var phone = chromedp.EmulateViewport(360, 780, chromedp.EmulateScale(2), chromedp.EmulateMobile)

// noScript switches JavaScript off in the tab: every page but the board's
// live refresh must work without it.
var noScript = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	return err
})

// scripted reports whether the page's own scripts ran: the board's adds a
// class to the document.
const scripted = `document.documentElement.classList.contains("live")`

// TestBrowser drives the three pages in a real browser: a household signs
// in by its link on a 360 px phone, asks for help on a field and sees the
// request listed; the cadre runs the plan from the board (dry run, then
// save) and sees the planned job on it; the notice shows every
// household's balance and prints on A4.
func TestBrowser(t *testing.T) {
	e := mustEnv(t)
	b := browser(t)
	dir := artifacts(t)
	poll := web.LivePoll
	web.LivePoll = 200 * time.Millisecond
	t.Cleanup(func() { web.LivePoll = poll })

	// A household of the demo with a field and nothing asked yet.
	h := e.neighbour
	require.Empty(t, e.openRequests(t, h.ID))
	field := e.fieldOf(t, h)
	tok := e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &h.ID, Label: "card"})

	t.Run("household asks for help on its phone", func(t *testing.T) {
		ctx := person(t, b)
		require.NoError(t, chromedp.Do(ctx,
			noScript,
			e.signIn(tok, phone),
			chromedp.WaitVisible(css("#ask-form")),
		))
		assert.Equal(t, e.url+hpath(h), run(t, ctx, chromedp.Location()), "signed in by the link, with no token left in the address")
		assert.Contains(t, run(t, ctx, chromedp.Text(css("h1"))), h.HeadName)

		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(css(fmt.Sprintf(`input[name=field][value="%d"]`, field.ID))),
			chromedp.Click(css(`input[name=task][value=prepare]`)),
			chromedp.SetValue(css(`input[name=earliest]`), "2027-04-12"),
			chromedp.SetValue(css(`input[name=latest]`), "2027-04-22"),
			chromedp.SendKeys(css(`input[name=note]`), "儿子在外打工"),
			chromedp.Click(css(`#ask-form button[type=submit]`)),
			chromedp.WaitVisible(css(".flash")),
		))
		open := e.openRequests(t, h.ID)
		require.Len(t, open, 1, "the request was registered")
		assert.Equal(t, field.ID, open[0].FieldID)
		assert.Equal(t, "2027-04-12", open[0].Earliest)
		assert.Equal(t, "儿子在外打工", open[0].Note)
		listed := run(t, ctx, chromedp.Text(css(fmt.Sprintf(`li[data-request="%d"]`, open[0].ID))))
		assert.Contains(t, listed, field.Name)
		assert.Contains(t, listed, "整地")
		assert.Contains(t, listed, "已登记")
		assert.NotContains(t, run(t, ctx, chromedp.Location()), "token")
		assert.False(t, run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)),
			"nothing is wider than a 360 px screen")
		screenshot(t, ctx, dir, "household-360.png")
	})

	var planned string
	t.Run("cadre plans the season on the board", func(t *testing.T) {
		ctx := person(t, b)
		require.NoError(t, chromedp.Do(ctx,
			noScript,
			e.signIn(e.cadre, desktop),
			chromedp.WaitVisible(css("table.grid")),
		))
		require.False(t, run(t, ctx, chromedp.Evaluate[bool](scripted)), "the board works with JavaScript off")
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(css("#plan-dry")),
			chromedp.WaitVisible(css("#preview")),
		))
		assert.Contains(t, run(t, ctx, chromedp.Text(css("#preview"))), h.HeadName, "the dry run places the new request")
		screenshot(t, ctx, dir, "board-dry-run.png")

		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(css("#plan-apply")),
			chromedp.WaitVisible(css(".flash")),
		))
		jobs, _, err := e.st.ListJobs(context.Background(), e.village.ID, store.JobFilter{HouseholdID: h.ID, From: "2027-01-01"}, store.Page{Limit: 10})
		require.NoError(t, err)
		require.NotEmpty(t, jobs, "the plan was saved with a job for the household")
		j := jobs[0]
		chip := run(t, ctx, chromedp.Text(css(fmt.Sprintf(`tr[data-date="%s"] span.chip[title="#%d"]`, j.Date, j.ID))))
		assert.Contains(t, chip, h.HeadName, "the planned job is on the board, on its day")
		assert.Contains(t, chip, field.Name)
		planned = j.Date
		screenshot(t, ctx, dir, "board.png")
	})

	t.Run("household sees who comes", func(t *testing.T) {
		require.NotEmpty(t, planned)
		ctx := person(t, b)
		require.NoError(t, chromedp.Do(ctx, e.signIn(tok, phone)))
		up := run(t, ctx, chromedp.Text(css("ul.jobs")))
		assert.Contains(t, up, planned)
		assert.Contains(t, up, "互助队")
		screenshot(t, ctx, dir, "household-360-planned.png")

		// The English switch, and back.
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(css("a.lang")), chromedp.WaitVisible(css("ul.jobs"))))
		assert.Contains(t, run(t, ctx, chromedp.Text(css("#up"))), "Help coming")
		assert.Contains(t, run(t, ctx, chromedp.Text(css(".balance .words"))), "You have helped")
		screenshot(t, ctx, dir, "household-360-en.png")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(css("a.lang")), chromedp.WaitVisible(css("ul.jobs"))))
		assert.Contains(t, run(t, ctx, chromedp.Text(css("#up"))), "要来帮忙的")
	})

	t.Run("a rained-out job folds behind the changes line", func(t *testing.T) {
		require.NotEmpty(t, planned)
		c, token, season := e.cadreOnBoard(t)
		resp, _ := c.post("/board/rain", url.Values{"csrf": {token}, "season": {season}, "date": {planned}, "group": {"0"}, "reason": {"大雨"}, "confirm": {"1"}})
		require.Equal(t, 303, resp.StatusCode)
		open := e.openRequests(t, h.ID)
		require.Len(t, open, 1)
		li := fmt.Sprintf(`li[data-request="%d"]`, open[0].ID)

		ctx := person(t, b)
		require.NoError(t, chromedp.Do(ctx, e.signIn(tok, phone), chromedp.WaitVisible(css(li+" details.changes summary"))))
		assert.Contains(t, run(t, ctx, chromedp.Text(css(li+" details.changes summary"))), "调整记录 1 条")
		hidden := `document.querySelector('` + li + ` details.changes .jobline').checkVisibility() === false`
		assert.True(t, run(t, ctx, chromedp.Evaluate[bool](hidden)), "the cancelled job is folded away")
		assert.NotContains(t, run(t, ctx, chromedp.Text(css(li))), "→ "+planned, "and not shown beside the jobs that stand")
		assert.False(t, run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)),
			"nothing is wider than a 360 px screen")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(css(li+" details.changes summary"))))
		assert.False(t, run(t, ctx, chromedp.Evaluate[bool](hidden)), "a tap opens it")
		assert.Contains(t, run(t, ctx, chromedp.Text(css(li+" details.changes"))), planned)
		screenshot(t, ctx, dir, "household-360-changes.png")
	})

	t.Run("board refreshes itself", func(t *testing.T) {
		ctx := person(t, b)
		require.NoError(t, chromedp.Do(ctx,
			e.signIn(e.cadre, desktop),
			chromedp.WaitVisible(css("table.grid")),
		))
		require.True(t, run(t, ctx, chromedp.Evaluate[bool](scripted)), "the live refresh runs")
		// After a dry run the page's address is /board/plan, which only
		// takes posts: the refresh still reads the board.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(css("#plan-dry")),
			chromedp.WaitVisible(css("#preview")),
		))
		require.True(t, run(t, ctx, chromedp.Evaluate[bool](scripted)), "the live refresh runs")
		// A household asks for help somewhere else (on its phone, or a
		// cadre through the API): the open board shows it without a reload.
		asker, f := e.quietHousehold(t)
		r, err := e.st.CreateRequest(context.Background(), e.village.ID, "test", store.NewRequest{
			HouseholdID: asker.ID, FieldID: f.ID, Task: store.TaskPrepare, Earliest: "2027-04-20", Latest: "2027-04-28"})
		require.NoError(t, err)
		wait, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(wait, chromedp.WaitVisible(css(fmt.Sprintf(`#live a[href="/h/%d"]`, r.HouseholdID)))),
			"the new request shows on the open board")
		assert.Contains(t, run(t, ctx, chromedp.Text(css("#wait-title"))), "1")
	})

	t.Run("a board whose card is revoked stops polling and says so", func(t *testing.T) {
		secret := e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleCadre, Label: "office PC"})
		ctx := person(t, b)
		require.NoError(t, chromedp.Do(ctx,
			e.signIn(secret, desktop),
			chromedp.WaitVisible(css("table.grid")),
		))
		require.True(t, run(t, ctx, chromedp.Evaluate[bool](scripted)), "the live refresh runs")
		tok, err := e.st.Authenticate(context.Background(), secret)
		require.NoError(t, err)
		_, err = e.st.RevokeToken(context.Background(), e.village.ID, tok.ID)
		require.NoError(t, err)
		wait, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(wait, chromedp.WaitVisible(css(".signed-out"))), "the board says it is signed out")
		assert.Contains(t, run(t, ctx, chromedp.Text(css(".signed-out"))), "登录已失效")
		time.Sleep(5 * web.LivePoll) // polls it would have made, had it gone on
		assert.Equal(t, 1, run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".signed-out").length`)),
			"it stopped asking")
	})

	t.Run("a sign-in link on a phone signed in as someone else asks first", func(t *testing.T) {
		ctx := person(t, b)
		require.NoError(t, chromedp.Do(ctx, e.signIn(tok, phone), chromedp.WaitVisible(css("#ask-form"))))
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(e.url+"/signin?token="+url.QueryEscape(e.homeTok)),
			chromedp.WaitVisible(css("#switch")),
		))
		assert.Contains(t, run(t, ctx, chromedp.Text(css("main"))), "您已作为"+h.HeadName+"户登录，要换成"+e.home.HeadName+"户吗？")
		assert.Equal(t, e.url+"/signin", run(t, ctx, chromedp.Location()), "no token left in the address")
		screenshot(t, ctx, dir, "signin-switch-360.png")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(css("#stay")), chromedp.WaitVisible(css("#ask-form"))))
		assert.Equal(t, e.url+hpath(h), run(t, ctx, chromedp.Location()), "staying keeps the household signed in")
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(e.url+"/signin?token="+url.QueryEscape(e.homeTok)),
			chromedp.Click(css("#switch")),
			chromedp.WaitVisible(css("#ask-form")),
		))
		assert.Equal(t, e.url+hpath(e.home), run(t, ctx, chromedp.Location()), "switched, with no token in the address")
		assert.Contains(t, run(t, ctx, chromedp.Text(css("h1"))), e.home.HeadName)
	})

	t.Run("notice", func(t *testing.T) {
		ctx := person(t, b)
		require.NoError(t, chromedp.Do(ctx,
			e.signIn(e.cadre, chromedp.EmulateViewport(1000, 1200)),
			chromedp.Navigate(e.url+"/notice"),
			chromedp.WaitVisible(css("article.notice")),
		))
		assert.Equal(t, 150, run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr[data-household]").length`)),
			"every household's line")
		season := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("select[name=season]").value`))
		seasonID, err := strconv.ParseInt(season, 10, 64)
		require.NoError(t, err)
		se, err := e.st.GetSeason(context.Background(), e.village.ID, seasonID)
		require.NoError(t, err)

		// A cadre reverses a job's posting of the season shown: the
		// notice follows the ledger, not the job's attendance.
		done, _, err := e.st.ListJobs(context.Background(), e.village.ID,
			store.JobFilter{State: store.JobDone, From: se.StartDate, To: se.EndDate}, store.Page{Limit: 1})
		require.NoError(t, err)
		require.NotEmpty(t, done, "the season shown has work in it")
		resp := e.apiPost(t, e.cadre, "/v1/transactions/"+strconv.FormatInt(*done[0].TransactionID, 10)+"/reversal",
			`{"memo":"记错了"}`, "Idempotency-Key", "browser-notice-reversal")
		require.Equal(t, 201, resp.StatusCode)
		require.NoError(t, chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(css("article.notice"))))

		// Every household's line says what the ledger says: the balance to
		// date, and the season's help given and received.
		shown := run(t, ctx, chromedp.Evaluate[map[string][]string](`Object.fromEntries([...document.querySelectorAll("tr[data-household]")].map(
			tr => [tr.dataset.household, [...tr.querySelectorAll("td")].map(td => td.textContent.trim())]))`))
		work, err := e.st.Exchanged(context.Background(), e.village.ID, se.StartDate, se.EndDate)
		require.NoError(t, err)
		balances, _, err := e.st.Balances(context.Background(), e.village.ID, store.BalanceQuery{})
		require.NoError(t, err)
		require.Len(t, balances, len(shown))
		var given int64
		for _, b := range balances {
			cells := shown[strconv.FormatInt(b.HouseholdID, 10)]
			require.Len(t, cells, 4, "head, given, received, balance")
			assert.Contains(t, cells[0], b.HeadName)
			assert.Equal(t, []string{workdays(work.Given[b.HouseholdID]), workdays(work.Received[b.HouseholdID]), workdays(b.Balance)},
				cells[1:], "%s: given, received, balance", b.HeadName)
			given += work.Given[b.HouseholdID]
		}
		assert.Positive(t, given, "the season shown has work in it")
		screenshot(t, ctx, dir, "notice.png")
		pdf := run(t, ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPreferCSSPageSize()))
		p := filepath.Join(dir, "notice.pdf")
		require.NoError(t, os.WriteFile(p, pdf, 0o644))
		require.True(t, bytes.HasPrefix(pdf, []byte("%PDF")))
		pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
		t.Logf("notice printed: %s, %d A4 pages", p, pages)
		assert.Positive(t, pages)
		assert.LessOrEqual(t, pages, 3, "150 households on a few sheets for the notice board")
	})

	t.Run("a household asks as the form stands, sees its note and cancels on its phone", func(t *testing.T) {
		quiet, _ := e.quietHousehold(t)
		ctx := person(t, b)
		require.NoError(t, chromedp.Do(ctx,
			noScript,
			e.signIn(e.mint(t, &store.Token{VillageID: e.village.ID, Role: store.RoleHousehold, HouseholdID: &quiet.ID}), phone),
			chromedp.WaitVisible(css("#ask-form")),
			chromedp.SendKeys(css(`input[name=note]`), "腰不好，干不了重活"),
			chromedp.Click(css(`#ask-form button[type=submit]`)),
			chromedp.WaitVisible(css(".flash")),
		))
		open := e.openRequests(t, quiet.ID)
		require.Len(t, open, 1, "the form as it stands registers a request")
		item := fmt.Sprintf(`li[data-request="%d"]`, open[0].ID)
		assert.Contains(t, run(t, ctx, chromedp.Text(css(item))), "备注：腰不好，干不了重活", "the note is shown")

		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(css(item+` input[name=reason]`), "儿子回家了"),
			chromedp.Click(css(item+` form.cancel button[type=submit]`)),
			chromedp.WaitNotPresent(css(item+` form.cancel`)), // the page after the post: the request is cancelled
			chromedp.WaitVisible(css(".flash")),
		))
		assert.Contains(t, run(t, ctx, chromedp.Text(css(".flash"))), "求助已撤销")
		got, err := e.st.GetRequest(context.Background(), e.village.ID, open[0].ID)
		require.NoError(t, err)
		assert.Equal(t, store.RequestCancelled, got.State, "cancelled by the household from its phone")
		assert.False(t, run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)),
			"nothing is wider than a 360 px screen")
		screenshot(t, ctx, dir, "household-cancel-360.png")
	})
}
