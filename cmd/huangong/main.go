// Command huangong is the one binary of the service: the server (the
// default), database chores, and token and OpenAPI tools. It only parses
// configuration and calls into the packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"

	"huangong/api"
	"huangong/seed"
	"huangong/store"
)

const usage = `huangong — 换工互助 village labor exchange

Usage:
  huangong [serve] [--addr :8080] [--db huangong.db] [--no-demo]
  huangong migrate [--db …]
  huangong seed [--db …] [--households N --seed S --name 村名 --groups G --teams T]
  huangong token create --role cadre|leader|household [--team ID] [--household ID] [--village ID] [--label …]
  huangong token card --household ID [--base URL] [--png FILE]   # a household's sign-in link and QR code, 农户登录卡
  huangong token card --role cadre [--base URL]                 # a cadre's link to the season board
  huangong token reissue --household ID [--base URL] [--png FILE]  # a new card; the household's old cards stop working, 补发
  huangong token cards --group G|--all --pdf FILE [--base URL]  # A4 sheet of new cards to cut out (old cards revoked), 打印登录卡
  huangong token list [--household ID] [--all]    # live tokens: who, expiry, last used; --all adds revoked and expired
  huangong token revoke ID                        # 作废 a lost card or phone: signed out on its next request
  huangong ledger verify [--village ID]           # exits 1 if any balance or transaction does not add up
  huangong ledger export --csv [--village ID] [--out FILE]
  huangong backup --out FILE [--db …]              # a consistent copy while the service runs, 在线备份
  huangong restore --from FILE [--db …] [--force] # checks and verifies the copy first, 恢复
  huangong cron list [--village ID] [--job J --state S --season ID]  # the seasons' cron runs, 定时任务记录
  huangong plan --in instance.json [--out plan.json] [--iterations N --seed S]
  huangong plan schema                            # the instance's JSON Schema
  huangong openapi [--out DIR]

Client commands (team leaders' client, 队长客户端; they talk to a server):
  huangong login --server http://HOST:PORT --token T   # check the token, save both (mode 0600)
  huangong jobs list [--all | --date today|YYYY-MM-DD | --from D --to D] [--state S] [--open] [--request ID]
                                                  # default: from today on, not yet done
  huangong jobs today [--date tomorrow|YYYY-MM-DD]  # the day sheet: who goes where, phone, field, people
  huangong jobs confirm ID
  huangong jobs decline ID --reason "…"
  huangong jobs complete ID --worked HOUSEHOLD=1.5 … [--helper HOUSEHOLD=1 --reason HOUSEHOLD=TEXT …] [--meal]
                                                  # HOUSEHOLD: a number, or for --worked a member's head (徐冬生=1.5)
  huangong jobs watch [--after EVENT]             # follow the team's notifications
  huangong requests list [--state S --task T --season ID --household ID --overdue]
  huangong requests create --field ID --task T --earliest D --latest D [--household ID --workdays W --note …]
  huangong requests update ID [--crew-cap N|default] [--workdays W]  # cadre: crew cap, 人数上限
  huangong requests cancel ID --reason "…"
  huangong balance [HOUSEHOLD] [--below-limit] [--sort balance]
  huangong statement HOUSEHOLD [--from D --to D]
  huangong plan run --season ID [--dry-run]
  huangong notify channels                        # cadre: SMS gateway, group robots, webhook (secrets masked)
  huangong notify add --kind sms|wecom|dingtalk|webhook --url URL [--team ID] [--method M] [--header K=V …]
                      [--body TEMPLATE] [--secret-env VAR]   # configure a channel, 配置通知渠道
  huangong notify remove ID
  huangong notify deliveries [--state pending|delivered|failed|merged] [--household ID] [--channel ID]
  huangong notify retry ID                        # send a failed message again, same message ID
  huangong notify quiet [--from 21:00 --to 07:00 --urgent-override=true --give-up MINUTES]
  Every client command takes --server URL, --token T and --json (the API's JSON, for scripts).
  The server URL starts with http:// or https://, then a host, an optional :port and path.
  Server and token: the flags, else HUANGONG_SERVER and HUANGONG_TOKEN, else the login file
  (HUANGONG_CONFIG, default: the user's config directory/huangong/config.json).
  Dates and times are the village's (its timezone); --date today is today there.

Exit codes 退出码: 0 ok; 1 other; 2 usage or input refused (400, 413, 422); 3 auth (401, 403);
  4 not found (404); 5 conflict (409, 412); 6 server error (5xx) or unreachable.

Cards take --base, else the village's publicUrl (PATCH /v1/village), else HUANGONG_BASE_URL;
  their text needs a Chinese font: fonts-noto-cjk, or HUANGONG_CARD_FONT=FILE.

Environment: HUANGONG_ADDR (listen address), HUANGONG_DB (database path or DSN, or a postgres:// URL),
  HUANGONG_SERVER, HUANGONG_TOKEN, HUANGONG_CONFIG (client commands).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli runs a command line and returns its exit status (see usage). A
// failure is printed as one line, never a stack: the client commands are
// run by people in a field and by scripts that read the code.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(stderr, "huangong: 内部错误 internal error: %s\n", oneLine(fmt.Errorf("%v", v)))
			code = exitOther
		}
	}()
	err := run(ctx, args, stdout, stderr)
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	fmt.Fprintln(stderr, "huangong:", oneLine(err))
	return exitCode(err)
}

// run dispatches a command line; main is only the process around it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, log)
	case "migrate":
		return migrateCmd(ctx, args, stdout)
	case "seed":
		return seedCmd(ctx, args, stdout)
	case "token":
		return tokenCmd(ctx, args, stdout, stderr)
	case "ledger":
		return ledgerCmd(ctx, args, stdout)
	case "cron":
		return cronCmd(ctx, args, stdout)
	case "backup":
		return backupCmd(ctx, args, stdout)
	case "restore":
		return restoreCmd(ctx, args, stdout)
	case "plan":
		if len(args) > 0 && args[0] == "run" {
			return planRunCmd(ctx, args[1:], stdout, stderr)
		}
		return planCmd(args, os.Stdin, stdout)
	case "login":
		return loginCmd(ctx, args, stdout, stderr)
	case "jobs":
		return jobsCmd(ctx, args, stdout, stderr)
	case "requests":
		return requestsCmd(ctx, args, stdout, stderr)
	case "balance":
		return balanceCmd(ctx, args, stdout, stderr)
	case "statement":
		return statementCmd(ctx, args, stdout, stderr)
	case "notify":
		return notifyCmd(ctx, args, stdout, stderr)
	case "openapi":
		return openapiCmd(args, stdout, log)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageErrorf("未知命令 unknown command %q; see huangong help", cmd)
}

// env returns the environment's value for key, or def.
func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func newFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	db := fs.String("db", env("HUANGONG_DB", "huangong.db"), "database path or DSN, or a postgres:// URL (HUANGONG_DB)")
	return fs, db
}

func serve(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs, db := newFlags("serve")
	addr := fs.String("addr", env("HUANGONG_ADDR", ":8080"), "listen address (HUANGONG_ADDR)")
	noDemo := fs.Bool("no-demo", false, "不加载示范村 do not seed the demo village")
	trustProxy := fs.Bool("trust-proxy", env("HUANGONG_TRUST_PROXY", "") == "true",
		"在反向代理之后：按X-Forwarded-For识别客户端 behind a reverse proxy: the client is the last X-Forwarded-For address (HUANGONG_TRUST_PROXY=true)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// NewApp binds the port before it seeds: a busy port fails here,
	// before demo tokens that could never be shown are minted.
	app, err := NewApp(ctx, Config{Addr: *addr, DB: *db, Demo: !*noDemo, TrustProxy: *trustProxy}, log)
	if err != nil {
		return err
	}
	defer app.Close()
	printWelcome(stdout, app)
	return app.Run(ctx)
}

func printWelcome(w io.Writer, app *App) {
	fmt.Fprintf(w, "换工 Huangong listening on http://%s  (docs: /docs, spec: /openapi.json)\n", app.Addr())
	if app.Village != nil {
		fmt.Fprintf(w, "示范村 demo village: %s (id %d)\n", app.Village.Name, app.Village.ID)
	}
	if app.DemoTokens == nil {
		if app.Village != nil {
			fmt.Fprintln(w, "Demo tokens were printed when the village was first seeded; make more with `huangong token create`. 令牌只在首次生成时显示。")
		}
		return
	}
	fmt.Fprintln(w, "示范令牌（仅显示一次）: Demo tokens (shown once, stored hashed)")
	roles := make([]string, 0, len(app.DemoTokens))
	for r := range app.DemoTokens {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		fmt.Fprintf(w, "  %-9s %s\n", r, app.DemoTokens[r])
	}
}

func migrateCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := store.Open(ctx, *db) // Open applies pending migrations
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "数据库已迁移\n migrated %s", *db)
	return nil
}

func seedCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("seed")
	households := fs.Int("households", 0, "生成N户的村 generate a village of N households instead of the demo")
	groups := fs.Int("groups", 0, "村民小组数 village groups of the generated village; default one per 25 households")
	teams := fs.Int("teams", 3, "互助队数 mutual-aid teams of the generated village")
	seedN := fs.Uint64("seed", 1, "随机种子 generator seed")
	name := fs.String("name", "", "村名 name of the generated village")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	var v *store.Village
	created := true
	if *households > 0 {
		cfg := seed.Config{Name: *name, Households: *households, Groups: *groups, Teams: *teams, Seed: *seedN}
		if cfg.Groups <= 0 {
			cfg.Groups = max(1, (*households+24)/25)
		}
		if cfg.Name == "" {
			cfg.Name = fmt.Sprintf("示例村%d", *seedN)
		}
		v, created, err = st.ImportVillage(ctx, seed.Generate(cfg), true)
	} else {
		var tokens map[string]string
		v, tokens, err = seed.EnsureDemo(ctx, st)
		created = tokens != nil
		for r, t := range tokens {
			fmt.Fprintf(stdout, "%s token: %s\n", r, t)
		}
	}
	if err != nil {
		return err
	}
	c, err := st.Census(ctx, v.ID)
	if err != nil {
		return err
	}
	state := "已存在，未改动 already there, unchanged"
	if created {
		state = "已生成 seeded"
	}
	fmt.Fprintf(stdout, "%s (id %d): %s — %d households, %d fields, %d teams, %d members\n",
		v.Name, v.ID, state, c.Households, c.Fields, c.Teams, c.Members)
	return nil
}

func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "card":
		return cardCmd(ctx, args[1:], stdout, stderr, false)
	case "reissue":
		return cardCmd(ctx, args[1:], stdout, stderr, true)
	case "cards":
		return tokenCardsCmd(ctx, args[1:], stdout, stderr)
	case "list":
		return tokenListCmd(ctx, args[1:], stdout)
	case "revoke":
		return tokenRevokeCmd(ctx, args[1:], stdout)
	case "create":
	default:
		return usageErrorf("usage: huangong token create|card|reissue|cards|list|revoke …; see huangong help")
	}
	fs, db := newFlags("token create")
	role := fs.String("role", "", "cadre, leader or household")
	team := fs.Int64("team", 0, "team ID (leader)")
	household := fs.Int64("household", 0, "household ID (household)")
	village := fs.Int64("village", 0, "village ID; defaults to the demo village")
	label := fs.String("label", "", "备注 a note on whose token this is")
	days := daysFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if *village == 0 {
		v, err := st.FindVillage(ctx, seed.DemoName)
		if err != nil {
			return fmt.Errorf("--village is needed: %w", err)
		}
		*village = v.ID
	}
	t := &store.Token{VillageID: *village, Role: *role, Label: *label, ExpiresAt: expiresIn(st, *days)}
	if *team != 0 {
		t.TeamID = team
	}
	if *household != 0 {
		t.HouseholdID = household
	}
	secret, err := st.CreateToken(ctx, t)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	return nil
}

func openapiCmd(args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	out := fs.String("out", ".", "directory for openapi.json (3.1) and openapi-3.0.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	spec31, spec30, err := api.Specs(log)
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"openapi.json": spec31, "openapi-3.0.json": spec30} {
		p := filepath.Join(*out, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", p)
	}
	return nil
}
