package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the village office's PC may have no zoneinfo: dates are the village's

	"huangong/api"
	apiclient "huangong/api/client"
)

// Exit codes of the huangong command, one per kind of failure, so that a
// script can tell a typo from a wrong token from a server that is down.
const (
	exitOK       = 0
	exitOther    = 1 // anything else
	exitUsage    = 2 // bad flags or arguments; the server refused the input (400, 413, 422)
	exitAuth     = 3 // no token, a wrong one, or a role that may not (401, 403)
	exitNotFound = 4 // no such record, or one outside the token's view (404)
	exitConflict = 5 // the record's state or version does not allow it (409, 412)
	exitServer   = 6 // the server failed (5xx) or could not be reached
)

// exitError is an error that says which exit code it means.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a mistake on the command line: exit 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode is the process exit status for err.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var pe *problemError
	if errors.As(err, &pe) {
		return pe.exitCode()
	}
	if err == nil {
		return exitOK
	}
	return exitOther
}

// oneLine makes an error's text one line for the terminal: whatever a
// server or a library said, the user sees a single line, never a dump.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// problemError is an RFC 9457 problem the server answered with, decoded
// from the raw body rather than the generated per-status types, so that
// documenting more responses in the spec never changes what the CLI does.
type problemError struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// statusNames are the Chinese beside the server's English titles.
var statusNames = map[int]string{
	400: "请求有误", 401: "未授权", 403: "无权限", 404: "未找到", 409: "冲突", 412: "版本已变",
	413: "请求过大", 422: "请求无效", 429: "请求过多", 500: "服务器内部错误", 502: "网关错误",
	503: "服务暂不可用", 504: "网关超时",
}

func (p *problemError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", p.Status)
	if zh := statusNames[p.Status]; zh != "" {
		b.WriteString(" " + zh)
	}
	title := p.Title
	if title == "" {
		title = http.StatusText(p.Status)
	}
	b.WriteString(" " + title)
	// A domain error's detail repeats its one field's message; say it once,
	// with the field.
	showDetail := p.Detail != ""
	if len(p.Errors) == 1 && p.Errors[0].Message == p.Detail {
		showDetail = false
	}
	if showDetail {
		b.WriteString(": " + p.Detail)
	}
	for i, e := range p.Errors {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		b.WriteString(sep)
		if e.Location != "" {
			b.WriteString(e.Location + ": ")
		}
		b.WriteString(e.Message)
	}
	return b.String()
}

func (p *problemError) exitCode() int {
	switch s := p.Status; {
	case s == 401 || s == 403:
		return exitAuth
	case s == 404:
		return exitNotFound
	case s == 409 || s == 412:
		return exitConflict
	case s == 400 || s == 413 || s == 422:
		return exitUsage
	case s >= 500:
		return exitServer
	}
	return exitOther
}

// unreachable is a server that could not be reached at all.
func unreachable(server string, err error) error {
	var op *net.OpError
	cause := err
	if errors.As(err, &op) {
		cause = op.Err
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		cause = dns
	}
	msg := "无法连接服务器 cannot reach"
	if errors.Is(err, syscall.ECONNREFUSED) {
		msg = "服务器未运行或地址有误 nothing answers at"
	}
	return &exitError{code: exitServer, err: fmt.Errorf("%s %s: %v", msg, server, cause)}
}

// clientConfig is where the client commands find the server and a token:
// flags, then HUANGONG_SERVER and HUANGONG_TOKEN, then the file `huangong
// login` writes.
type clientConfig struct {
	Server string `json:"server"`
	Token  string `json:"token"`
}

// configPath is the login file: HUANGONG_CONFIG, or huangong/config.json
// in the user's configuration directory.
func configPath() (string, error) {
	if p := env("HUANGONG_CONFIG", ""); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("找不到配置目录 no configuration directory (set HUANGONG_CONFIG): %w", err)
	}
	return filepath.Join(dir, "huangong", "config.json"), nil
}

func readConfig() (clientConfig, string, error) {
	var c clientConfig
	path, err := configPath()
	if err != nil {
		return c, "", err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, path, nil
	}
	if err != nil {
		return c, path, err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, path, fmt.Errorf("配置文件无法读取 %s is not a huangong config: %w", path, err)
	}
	return c, path, nil
}

// writeConfig saves the login with mode 0600: the token is a password.
func writeConfig(path string, c clientConfig) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // WriteFile keeps an existing file's mode
		return err
	}
	return os.Rename(tmp, path)
}

// normalizeServer trims what a paste leaves around a URL and the slash
// after it; it adds nothing: a server is named with its scheme.
func normalizeServer(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), "/")
}

// checkServer refuses a server address that no request could be sent to,
// before any is: a typo in --server is a usage error (exit 2), not a
// server that cannot be reached (exit 6). The rules: http:// or https://,
// a host, an optional port and path (a server behind a proxy's prefix);
// no query or fragment. "127.0.0.1:8080" without a scheme is refused
// rather than guessed: whether it is http or https is not the client's
// to guess, and a login saved with a guess would be wrong silently.
func checkServer(server string) error {
	if !strings.Contains(server, "://") {
		return usageErrorf("服务器地址须以 http:// 或 https:// 开头，如 http://127.0.0.1:8080 server URL %q has no scheme: want http://HOST:PORT or https://HOST", server)
	}
	u, err := url.Parse(server)
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return usageErrorf("服务器地址无效 bad server URL %q: %v", server, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return usageErrorf("服务器地址须以 http:// 或 https:// 开头 server URL %q: want http:// or https://", server)
	case u.Host == "" || u.Hostname() == "":
		return usageErrorf("服务器地址缺少主机 server URL %q has no host: want http://HOST:PORT", server)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(server, "?") || strings.HasSuffix(server, "#"):
		return usageErrorf("服务器地址不能带 ? 或 # server URL %q: no query or fragment, want http://HOST:PORT[/PATH]", server)
	}
	return nil
}

// clientFlags are the flags every client command takes.
type clientFlags struct {
	fs     *flag.FlagSet
	server *string
	token  *string
	json   *bool
}

func newClientFlags(name string) *clientFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors come back as one line; -h prints below
	return &clientFlags{
		fs:     fs,
		server: fs.String("server", "", "服务器地址 server URL (HUANGONG_SERVER, or the login file)"),
		token:  fs.String("token", "", "令牌 bearer token (HUANGONG_TOKEN, or the login file)"),
		json:   fs.Bool("json", false, "输出接口原始JSON print the API's JSON, for scripts"),
	}
}

// parse reads flags and positional arguments in any order (`jobs confirm
// 12 --json` as well as `jobs confirm --json 12`). errHelp means -h was
// asked for and the flags were printed.
func (f *clientFlags) parse(args []string, stdout io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(stdout, "huangong %s — flags:\n", f.fs.Name())
				f.fs.SetOutput(stdout)
				f.fs.PrintDefaults()
				return nil, errHelp
			}
			return nil, usageErrorf("%s: %v (see huangong help)", f.fs.Name(), err)
		}
		args = f.fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

var errHelp = errors.New("help shown")

// parseNone parses a command that takes flags only.
func (f *clientFlags) parseNone(args []string, stdout io.Writer) error {
	pos, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("%s: 多余的参数 unexpected argument %q", f.fs.Name(), pos[0])
	}
	return nil
}

// open parses a command that takes flags only and connects.
func (f *clientFlags) open(args []string, stdout, stderr io.Writer) (*conn, error) {
	if err := f.parseNone(args, stdout); err != nil {
		return nil, err
	}
	return f.connect(stdout, stderr)
}

// connect resolves the server and token and builds the generated client.
func (f *clientFlags) connect(stdout, stderr io.Writer) (*conn, error) {
	file, path, err := readConfig()
	if err != nil {
		return nil, err
	}
	cfg := clientConfig{
		Server: firstOf(*f.server, env("HUANGONG_SERVER", ""), file.Server, "http://localhost:8080"),
		Token:  firstOf(*f.token, env("HUANGONG_TOKEN", ""), file.Token),
	}
	if cfg.Token == "" {
		return nil, &exitError{code: exitAuth, err: fmt.Errorf(
			"没有令牌，请先登录 no token: run huangong login --server URL --token T, or set HUANGONG_TOKEN (login file: %s)", path)}
	}
	return newConn(normalizeServer(cfg.Server), cfg.Token, *f.json, stdout, stderr)
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// conn is one command's connection: the generated client with the token,
// an Idempotency-Key for its postings and retries around every call.
type conn struct {
	api    *apiclient.Client
	server string
	key    string // this run's Idempotency-Key
	json   bool
	out    io.Writer
	errOut io.Writer
	who    *apiclient.Me  // whom the token speaks for, once read
	loc    *time.Location // the village's timezone, once read
}

func newConn(server, token string, asJSON bool, stdout, stderr io.Writer) (*conn, error) {
	if err := checkServer(server); err != nil {
		return nil, err
	}
	key, err := newIdempotencyKey()
	if err != nil {
		return nil, err
	}
	c := &conn{server: server, key: key, json: asJSON, out: stdout, errOut: stderr}
	c.api, err = apiclient.NewClient(server,
		apiclient.WithHTTPClient(&retrying{client: httpClient, backoff: retryBackoff}),
		apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("User-Agent", "huangong-cli/"+api.Version)
			// Every POST carries a key, one per command run (complete sets
			// its own, see completeKey). Only some operations honour it;
			// see retrying for why a retry is safe for each of the others.
			if req.Method == http.MethodPost && req.Header.Get("Idempotency-Key") == "" {
				req.Header.Set("Idempotency-Key", key)
			}
			return nil
		}))
	if err != nil {
		return nil, usageErrorf("服务器地址无效 bad server URL %q: %v", server, err)
	}
	return c, nil
}

func newIdempotencyKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "hg-" + hex.EncodeToString(b), nil
}

// httpClient bounds connecting and waiting for an answer's headers, but not
// reading a body: an event stream stays open for as long as it is watched.
var httpClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   10 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
	MaxIdleConns:          4,
	IdleConnTimeout:       90 * time.Second,
}}

// retryBackoff is the wait before each retry: three retries after the
// first try.
var retryBackoff = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// retrying sends a request again, with the same body and headers (so the
// same Idempotency-Key), when the network failed or the server answered
// 5xx. A retried GET is harmless. A retried POST may reach a server that
// acted on the first try, so each POST the commands send is safe to
// repeat for its own reason:
//   - complete-job, create-request and cancel-request honour the
//     Idempotency-Key: the server answers a repeat from the first call
//     and does nothing twice;
//   - confirm-job and decline-job have no key; a repeat is a 409, which
//     the command turns into the job as it is (see refusedJob);
//   - run-plan has no key; a repeat plans the same records again and
//     keeps the jobs that say the same, so nothing is made twice, but its
//     answer counts them as kept rather than new.
//
// A POST added to the commands must be one of these kinds, or must not go
// through this client.
type retrying struct {
	client  *http.Client
	backoff []time.Duration
}

func (r *retrying) Do(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := r.client.Do(req)
		failed := (err != nil && req.Context().Err() == nil) || (err == nil && resp.StatusCode >= 500)
		if !failed || attempt == len(r.backoff) {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		select {
		case <-time.After(r.backoff[attempt]):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
}

// call reads an answer of the generated client: the decoded body of a 2xx,
// or the problem the server gave, or the network's failure, as an error
// with its exit code. raw is the body as the API sent it, for --json.
func call[T any](c *conn, resp *http.Response, err error) (out *T, raw []byte, _ error) {
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, nil, err
		}
		return nil, nil, unreachable(c.server, err)
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, unreachable(c.server, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		p := &problemError{}
		if json.Unmarshal(raw, p) != nil || p.Status == 0 {
			p = &problemError{Title: http.StatusText(resp.StatusCode)}
		}
		p.Status = resp.StatusCode
		return nil, raw, p
	}
	out = new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, raw, &exitError{code: exitServer, err: fmt.Errorf("服务器答复无法解析 the server's answer is not what the API says (%d): %v", resp.StatusCode, err)}
	}
	return out, raw, nil
}

// printJSON writes the API's JSON indented.
func (c *conn) printJSON(raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := c.out.Write(buf.Bytes())
	return err
}

// me is whom the token speaks for (its role, team or household) and its
// village, read once per command.
func (c *conn) me(ctx context.Context) (*apiclient.Me, error) {
	if c.who != nil {
		return c.who, nil
	}
	resp, err := c.api.GetMe(ctx)
	me, _, err := call[apiclient.Me](c, resp, err)
	if err != nil {
		return nil, err
	}
	c.who = me
	return me, nil
}

// location is the village's timezone: dates and times are shown, and
// "today" is taken, there.
func (c *conn) location(ctx context.Context) (*time.Location, error) {
	if c.loc != nil {
		return c.loc, nil
	}
	me, err := c.me(ctx)
	if err != nil {
		return nil, err
	}
	c.loc, err = time.LoadLocation(me.Village.Timezone)
	if err != nil {
		c.loc = time.FixedZone("CST", 8*3600) // China Standard Time, the default
	}
	return c.loc, nil
}

// clientNow is the client's clock; tests fix it.
var clientNow = time.Now
