package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"huangong/seed"
	"huangong/store"
)

// errLedgerUnbalanced makes `ledger verify` exit non-zero.
var errLedgerUnbalanced = errors.New("账目不平 the ledger does not balance")

func ledgerCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export") {
		return fmt.Errorf("usage: huangong ledger verify [--village ID] | huangong ledger export --csv [--village ID] [--out FILE]")
	}
	fs, db := newFlags("ledger " + args[0])
	village := fs.Int64("village", 0, "village ID; verify: every village when absent; export: the only village, else the demo village")
	asCSV := fs.Bool("csv", false, "export balances as CSV for the notice board")
	out := fs.String("out", "", "write the export to FILE instead of standard output")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "verify" {
		return verifyLedger(ctx, st, *village, stdout)
	}
	if !*asCSV {
		return fmt.Errorf("ledger export: only --csv is supported")
	}
	v, err := pickVillage(ctx, st, *village)
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return exportBalances(ctx, st, v, w)
}

// pickVillage is the village named by --village, else the only one, else
// the demo village.
func pickVillage(ctx context.Context, st *store.Store, id int64) (*store.Village, error) {
	if id != 0 {
		return st.GetVillage(ctx, id)
	}
	vs, err := st.ListVillages(ctx)
	if err != nil {
		return nil, err
	}
	if len(vs) == 1 {
		return vs[0], nil
	}
	v, err := st.FindVillage(ctx, seed.DemoName)
	if err != nil {
		return nil, fmt.Errorf("the database holds %d villages; name one with --village", len(vs))
	}
	return v, nil
}

func verifyLedger(ctx context.Context, st *store.Store, id int64, stdout io.Writer) error {
	var villages []*store.Village
	if id != 0 {
		v, err := st.GetVillage(ctx, id)
		if err != nil {
			return err
		}
		villages = []*store.Village{v}
	} else {
		var err error
		if villages, err = st.ListVillages(ctx); err != nil {
			return err
		}
	}
	bad := false
	for _, v := range villages {
		res, err := st.VerifyLedger(ctx, v.ID)
		if err != nil {
			return err
		}
		state := "平衡 ok"
		if !res.OK() {
			state, bad = "不平 MISMATCH", true
		}
		fmt.Fprintf(stdout, "%s (id %d): %s — %d accounts, %d transactions, %d entries, balances sum to %s\n",
			v.Name, v.ID, state, res.Accounts, res.Transactions, res.Entries, formatWorkdays(res.Total))
		for _, m := range res.Mismatches {
			fmt.Fprintln(stdout, "  ", m)
		}
	}
	if bad {
		return errLedgerUnbalanced
	}
	return nil
}

// exportBalances writes the notice-board sheet. It starts with a UTF-8
// byte-order mark so that Excel and WPS, which village offices use, open
// the Chinese text correctly.
func exportBalances(ctx context.Context, st *store.Store, v *store.Village, w io.Writer) error {
	rows, fund, err := st.Balances(ctx, v.ID, store.BalanceQuery{})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"户号 household", "户主 head", "村民小组 group", "出工工日 given", "受助工日 received", "余额工日 balance", "低于提醒线 below limit"})
	for _, r := range rows {
		below := ""
		if r.BelowLimit {
			below = "是 yes"
		}
		cw.Write([]string{strconv.FormatInt(r.HouseholdID, 10), r.HeadName, strconv.Itoa(r.Group),
			formatWorkdays(r.Given), formatWorkdays(r.Received), formatWorkdays(r.Balance), below})
	}
	cw.Write([]string{"", "村公益账户 village fund", "", "", "", formatWorkdays(fund), ""})
	cw.Flush()
	return cw.Error()
}

// formatWorkdays shows half days as workdays: 3 → "1.5", -4 → "-2".
func formatWorkdays(halfDays int64) string {
	return strconv.FormatFloat(float64(halfDays)/2, 'f', -1, 64)
}
