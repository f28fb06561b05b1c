package planner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "huangong/scheduler/planner"
)

func TestInstanceRoundTrip(t *testing.T) {
	in := MustVillage(t, 60, 5, normal)
	in.Fixed = []Assignment{{Request: in.Requests[0].ID, Team: 1, Date: in.Start, Workers: []Worker{{Household: in.Teams[0].Members[0].Household, HalfDays: 1}}}}
	data, err := json.Marshal(in)
	require.NoError(t, err)
	got, err := DecodeInstance(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, in, got)

	plan, err := Solve(context.Background(), got, Options{})
	require.NoError(t, err)
	data, err = json.Marshal(plan)
	require.NoError(t, err)
	var back Plan
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, plan, back)
	for _, name := range []string{`"assignments"`, `"unplaced"`, `"late"`, `"inWindowWeighted"`, `"halfDays"`, `"bound"`} {
		assert.Contains(t, string(data), name)
	}
}

func TestDecodeInstanceExample(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "instance.json"))
	require.NoError(t, err)
	defer f.Close()
	in, err := DecodeInstance(f)
	require.NoError(t, err)
	plan, err := Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	checkPlan(t, in, plan)
}

func TestDecodeInstanceRefuses(t *testing.T) {
	valid := `{"start":"2026-04-20","end":"2026-04-29","requests":[{"id":1,"household":10,"group":1,"halfDays":3,"earliest":"2026-04-20","latest":"2026-04-22","priority":3}],"teams":[{"id":1,"members":[{"household":20,"workers":2}]}]}`
	_, err := DecodeInstance(strings.NewReader(valid))
	require.NoError(t, err)
	for name, tc := range map[string]struct{ in, field, msg string }{
		"not JSON":       {`{"start": 2026-04-20}`, "", "invalid JSON at line 1, column"},
		"truncated":      {valid[:40], "", "invalid JSON"},
		"two values":     {valid + valid, "", "more than one value"},
		"unknown field":  {strings.Replace(valid, `"priority":3`, `"priority":3,"prio":1`, 1), "requests[0].prio", "unknown field"},
		"unknown top":    {strings.Replace(valid, `"start"`, `"begin":"x","start"`, 1), "begin", "unknown field"},
		"missing":        {strings.Replace(valid, `"halfDays":3,`, ``, 1), "requests[0].halfDays", "required"},
		"wrong type":     {strings.Replace(valid, `"halfDays":3`, `"halfDays":"3"`, 1), "requests[0].halfDays", "integer"},
		"fraction":       {strings.Replace(valid, `"halfDays":3`, `"halfDays":1.5`, 1), "requests[0].halfDays", "integer"},
		"zero half days": {strings.Replace(valid, `"halfDays":3`, `"halfDays":0`, 1), "requests[0].halfDays", "minimum"},
		"bad date":       {strings.Replace(valid, `"latest":"2026-04-22"`, `"latest":"22/4"`, 1), "requests[0].latest", "does not match"},
		"empty team":     {strings.Replace(valid, `[{"household":20,"workers":2}]`, `[]`, 1), "teams[0].members", "at least 1"},
		"balances key":   {strings.Replace(valid, `"teams"`, `"balances":{"abc":1},"teams"`, 1), "balances.abc", "does not match"},
		"balances value": {strings.Replace(valid, `"teams"`, `"balances":{"12":true},"teams"`, 1), "balances.12", "integer"},
		"not an object":  {`[1,2]`, "", "object"},
		"null requests":  {strings.Replace(valid, `"requests":[`, `"requests":null,"x":[`, 1), "requests", "array"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeInstance(strings.NewReader(tc.in))
			var ie *InputError
			require.True(t, errors.As(err, &ie), "an *InputError, got %v", err)
			assert.Equal(t, tc.field, ie.Field, ie.Error())
			assert.Contains(t, ie.Message, tc.msg)
		})
	}
}
