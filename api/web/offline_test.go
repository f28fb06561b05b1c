package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refRE finds what a page or stylesheet would load or link to: src, href,
// action, poster, data and srcset attributes, and CSS url(…) and @import.
var refRE = regexp.MustCompile(`(?i)(?:\b(?:src|href|action|poster|data|srcset|apiDescriptionUrl)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])([^"'\s)>]+)`)

// foreignRefs are the references in text that point at another host than
// self: an absolute http(s) URL or a scheme-relative //host one.
func foreignRefs(text, self string) []string {
	var out []string
	for _, m := range refRE.FindAllStringSubmatch(text, -1) {
		ref := m[1]
		if !strings.HasPrefix(ref, "//") && !strings.HasPrefix(strings.ToLower(ref), "http:") && !strings.HasPrefix(strings.ToLower(ref), "https:") {
			continue // relative, data:, #fragment, javascript:
		}
		u, err := url.Parse(ref)
		if err != nil || u.Host != self {
			out = append(out, ref)
		}
	}
	return out
}

func TestForeignRefsFindsOtherHosts(t *testing.T) {
	page := `<link href="https://unpkg.com/x.css"><script src='//cdn.example/x.js'></script>` +
		`<img src="/static/icon.svg"><a href="http://127.0.0.1:9/ok">` +
		`<style>body{background:url( "https://fonts.example/a.woff")}</style><a href="#top">`
	assert.Equal(t, []string{"https://unpkg.com/x.css", "//cdn.example/x.js", "https://fonts.example/a.woff"},
		foreignRefs(page, "127.0.0.1:9"))
}

// TestNoPageLoadsFromAnotherHost crawls every page the service serves, as
// nobody, a household and the cadre, following the links it finds on this
// host, and fails if any HTML page or stylesheet refers to another host:
// on a village network with no way out such a page is blank or broken.
func TestNoPageLoadsFromAnotherHost(t *testing.T) {
	e := mustEnv(t)
	base, err := url.Parse(e.url)
	require.NoError(t, err)
	self := base.Host

	linkRE := regexp.MustCompile(`(?i)\b(?:href|src)\s*=\s*"(/[^"/][^"]*)"`)
	seen := map[string]bool{}
	scanned := 0
	crawl := func(c *client, start ...string) {
		queue := append([]string(nil), start...)
		for len(queue) > 0 && scanned < 200 {
			path := queue[0]
			queue = queue[1:]
			key := c.name + " " + path
			if seen[key] || strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/openapi") {
				continue
			}
			seen[key] = true
			resp, body := c.get(path)
			ct := resp.Header.Get("Content-Type")
			if !strings.HasPrefix(ct, "text/html") && !strings.HasPrefix(ct, "text/css") {
				continue
			}
			scanned++
			assert.Empty(t, foreignRefs(body, self), "%s as %s (%d) refers to another host", path, c.name, resp.StatusCode)
			for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
				queue = append(queue, strings.ReplaceAll(m[1], "&amp;", "&"))
			}
		}
	}
	pages := []string{"/", "/docs", "/signin", "/signin?token=hg_wrong", "/board", "/notice", hpath(e.home), "/no-such-page"}
	anon := e.client(t)
	anon.name = "anonymous"
	crawl(anon, pages...)
	home := e.signedIn(t, e.homeTok)
	home.name = "household"
	crawl(home, pages...)
	cadre := e.signedIn(t, e.cadre)
	cadre.name = "cadre"
	crawl(cadre, pages...)

	for _, must := range []string{"/docs", "/signin", "/board", hpath(e.home), "/static/style.css"} {
		found := false
		for k := range seen {
			found = found || strings.HasSuffix(k, " "+must)
		}
		assert.True(t, found, "the crawl reached %s", must)
	}
	assert.Greater(t, scanned, 10, "pages scanned")
}

// TestDocsRenderOffline opens /docs in a real browser, which reaches no
// host but the service here as on a village network, and waits for the
// embedded renderer to show the document: a CDN link or a CSP that
// blocks the bundle leaves the page blank.
func TestDocsRenderOffline(t *testing.T) {
	e := mustEnv(t)
	ctx := person(t, browser(t))
	run(t, ctx, chromedp.Navigate(e.url+"/docs"))
	var text string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		text = run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if strings.Contains(text, "ENDPOINTS") && strings.Contains(text, "农忙换工互助") {
			break
		}
	}
	assert.Contains(t, text, "ENDPOINTS", "the renderer listed the operations' tags")
	assert.Contains(t, text, "households")
	assert.Contains(t, text, "农忙换工互助", "and the document's description")
	screenshot(t, ctx, artifacts(t), "docs.png")
}
