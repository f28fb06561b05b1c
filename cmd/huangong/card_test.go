package main

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store/testdb"
)

// TestTokenCard prints a household's card for the running service and
// follows its link the way a phone that scanned it would: the link signs
// the household in to its page. A cadre's card opens the board.
func TestTokenCard(t *testing.T) {
	db := testdb.Database(t, "card.db")
	app := MustRunApp(t, db)
	base := "http://" + app.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	card := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"token", "card", "--db", db}, args...), &out, io.Discard)
		return out.String(), err
	}
	linkRE := regexp.MustCompile(`(http://\S+/signin\?token=hg_[a-z2-7]+)\n`)
	follow := func(link string) *http.Response {
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		resp, err := (&http.Client{Jar: jar}).Get(link)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}

	pngPath := filepath.Join(t.TempDir(), "card.png")
	// A card printed before, world-readable: the new one is not.
	require.NoError(t, os.WriteFile(pngPath, nil, 0o644))
	out, err := card("--household", "1", "--base", base+"/", "--png", pngPath)
	require.NoError(t, err)
	assert.Contains(t, out, "章仁标户")
	m := linkRE.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Contains(t, out, "\x1b[30;47m", "a QR code, black on white, in the terminal")
	resp := follow(m[1])
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "/h/1", resp.Request.URL.Path, "the card's link opens the household's page")
	assert.Empty(t, resp.Request.URL.RawQuery, "with no token left in the address")

	info, err := os.Stat(pngPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the QR code is the token: only its owner reads the file")
	f, err := os.Open(pngPath)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	assert.Equal(t, b.Dx(), b.Dy())
	assert.GreaterOrEqual(t, b.Dx(), (21+8)*10, "at least a version-1 code with its quiet zone, 10 px a module")

	out, err = card("--role", "cadre", "--base", base)
	require.NoError(t, err)
	m = linkRE.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, "/board", follow(m[1]).Request.URL.Path)

	t.Setenv("HUANGONG_BASE_URL", "https://huangong.example.cn")
	out, err = card("--household", "2")
	require.NoError(t, err)
	assert.Contains(t, out, "https://huangong.example.cn/signin?token=hg_", "the base from the environment")

	for _, bad := range [][]string{
		{},                   // whose card?
		{"--role", "leader"}, // leaders use the CLI
		{"--role", "cadre", "--household", "1"},
		{"--household", "999"}, // no such household
		{"--household", "1", "--base", "ftp://x"},
		{"--household", "1", "--base", "http://x/?a=1"},
	} {
		_, err := card(bad...)
		assert.Error(t, err, "%v", bad)
	}
}
