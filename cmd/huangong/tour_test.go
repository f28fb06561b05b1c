package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
	"huangong/store/testdb"
)

// TestREADMETour runs the README's "A five-minute tour" as written against
// a fresh demo server on :0: each curl step is sent as curl would send it,
// with the demo's printed tokens, and must answer what the tour says (the
// status in its comment, "# 404"; any 2xx otherwise). A line "TX=…" takes
// the id the last POST answered; the SSE step reads one event and hangs up.
func TestREADMETour(t *testing.T) {
	steps := tourSteps(t)
	require.Greater(t, len(steps), 20, "the tour's curl steps")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, err := NewApp(ctx, Config{Addr: "127.0.0.1:0", DB: testdb.Database(t, "tour.db"), Demo: true},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer app.Close()
	require.NoError(t, app.Listen())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); <-done }()

	vars := map[string]string{
		"CADRE": app.DemoTokens[store.RoleCadre], "HOUSEHOLD": app.DemoTokens[store.RoleHousehold],
		"LEADER": app.DemoTokens[store.RoleLeader], "H": "Authorization: Bearer",
	}
	var lastPostID string
	for _, st := range steps {
		if name, ok := strings.CutSuffix(st.assign, "=…"); ok {
			require.NotEmpty(t, lastPostID, "%s: no POST answered an id before it", st.line)
			vars[name] = lastPostID
			continue
		}
		req := st.request(t, vars, app.Addr())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, st.line)
		if st.stream {
			ev := readFirstEvent(t, resp.Body)
			resp.Body.Close()
			assert.NotEmpty(t, ev, "%s: the stream replays the caller's latest events", st.line)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		if st.status != 0 {
			assert.Equal(t, st.status, resp.StatusCode, "%s\n%s", st.line, body)
		} else {
			assert.True(t, resp.StatusCode < 300, "%s answered %d\n%s", st.line, resp.StatusCode, body)
		}
		if req.Method == http.MethodPost && resp.StatusCode < 300 {
			var out struct {
				ID json.Number `json:"id"`
			}
			if json.Unmarshal(body, &out) == nil && out.ID != "" {
				lastPostID = out.ID.String()
			}
		}
	}
}

// tourStep is one line of the tour: a curl call, or a variable set from
// the last answer.
type tourStep struct {
	line   string
	assign string   // "TX=…"
	args   []string // curl's arguments, variables not yet expanded
	status int      // the status the comment names; 0: any 2xx
	stream bool     // curl -N: an SSE stream
}

var tourStatus = regexp.MustCompile(`#\s*(\d{3})\b`)

// tourSteps reads the tour's shell block from the README.
func tourSteps(t *testing.T) []tourStep {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(raw), "## A five-minute tour")
	require.True(t, ok)
	_, after, ok = strings.Cut(after, "```sh\n")
	require.True(t, ok)
	block, _, ok := strings.Cut(after, "```")
	require.True(t, ok)
	var steps []tourStep
	var cur string
	for line := range strings.Lines(block) {
		line = strings.TrimRight(line, "\n")
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		cur += line
		full := strings.TrimSpace(cur)
		cur = ""
		code, comment, _ := strings.Cut(full, " #")
		code = strings.TrimSpace(code)
		switch {
		case regexp.MustCompile(`^[A-Z]+=…$`).MatchString(code):
			steps = append(steps, tourStep{line: full, assign: code})
		case strings.HasPrefix(code, "curl "):
			code, _, _ = strings.Cut(code, " | ") // "| grep -i etag": the headers are shown anyway
			st := tourStep{line: full, args: shellWords(t, strings.TrimPrefix(code, "curl "))}
			if m := tourStatus.FindStringSubmatch("#" + comment); m != nil {
				st.status, _ = strconv.Atoi(m[1])
			}
			steps = append(steps, st)
		}
	}
	for i := range steps {
		for _, a := range steps[i].args {
			if a == "-N" {
				steps[i].stream = true
			}
		}
	}
	return steps
}

// shellWords splits a command line as sh does, for the quoting the tour
// uses: '…' literal, "…" with $VAR expanded later, bare words.
func shellWords(t *testing.T, s string) []string {
	var out []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			require.GreaterOrEqual(t, j, 0, "unclosed ' in %s", s)
			w.WriteString("\x00" + s[i+1:i+1+j] + "\x00") // \x00: not expanded
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			require.GreaterOrEqual(t, j, 0, "unclosed \" in %s", s)
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				out = append(out, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, w.String())
	}
	return out
}

var shellVar = regexp.MustCompile(`\$([A-Z]+)`)

// expand replaces $VAR outside single quotes.
func expand(word string, vars map[string]string) string {
	parts := strings.Split(word, "\x00")
	for i := 0; i < len(parts); i += 2 { // even parts are outside '…'
		parts[i] = shellVar.ReplaceAllStringFunc(parts[i], func(m string) string { return vars[m[1:]] })
	}
	return strings.Join(parts, "")
}

// request is the HTTP request curl would send for the step.
func (st tourStep) request(t *testing.T, vars map[string]string, addr string) *http.Request {
	t.Helper()
	method, url, data := "", "", ""
	var headers [][2]string
	args := st.args
	for i := 0; i < len(args); i++ {
		a := expand(args[i], vars)
		switch a {
		case "-s", "-si", "-i", "-N", "-sN":
		case "-X":
			i++
			method = expand(args[i], vars)
		case "-H":
			i++
			k, v, ok := strings.Cut(expand(args[i], vars), ":")
			require.True(t, ok, "%s: header %q", st.line, args[i])
			headers = append(headers, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		case "-d":
			i++
			data = expand(args[i], vars)
		default:
			require.True(t, strings.HasPrefix(a, "localhost:8080/"), "%s: unknown curl argument %q", st.line, a)
			url = "http://" + addr + strings.TrimPrefix(a, "localhost:8080")
		}
	}
	if method == "" {
		method = http.MethodGet
		if data != "" {
			method = http.MethodPost
		}
	}
	var body io.Reader
	if data != "" {
		body = strings.NewReader(data)
	}
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err, st.line)
	if data != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // curl's default for -d
	}
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	return req
}

// readFirstEvent reads an SSE stream until its first message's data, or
// gives up after a few seconds.
func readFirstEvent(t *testing.T, r io.Reader) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				got <- data
				return
			}
		}
		got <- ""
	}()
	select {
	case d := <-got:
		return d
	case <-time.After(5 * time.Second):
		return ""
	}
}
