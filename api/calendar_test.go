package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestGetSolarTerms(t *testing.T) {
	e := mustEnv(t)

	t.Run("a year, for every role", func(t *testing.T) {
		for _, tok := range []string{e.cadre, e.leader, e.householdTok} {
			resp, body := e.call(t, "GET", "/v1/solar-terms?year=2027", tok, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.EqualValues(t, 2027, body["year"])
			assert.Equal(t, "Asia/Shanghai", body["timezone"])
			terms := body["terms"].([]any)
			require.Len(t, terms, 24)
			first, last := terms[0].(map[string]any), terms[23].(map[string]any)
			assert.Equal(t, "小寒", first["name"])
			assert.Equal(t, "冬至", last["name"])
			assert.Equal(t, "2027-12-22", last["date"], "冬至 of the year asked, not of the lunar year before")
			qingming := terms[6].(map[string]any)
			assert.Equal(t, map[string]any{"name": "清明", "pinyin": "Qīngmíng", "english": "Pure Brightness", "longitude": float64(15),
				"time": "2027-04-05T08:17:31+08:00", "date": "2027-04-05"}, qingming)
		}
	})

	t.Run("this year in the village by default", func(t *testing.T) {
		// New Year's Eve in UTC is already 2027 in the village.
		e.st.Now = func() time.Time { return time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC) }
		defer func() { e.st.Now = time.Now }()
		resp, body := e.call(t, "GET", "/v1/solar-terms", e.householdTok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.EqualValues(t, 2027, body["year"])
	})

	t.Run("bad years", func(t *testing.T) {
		for _, q := range []string{"1899", "2101", "0", "-5", "abc", "2027.5"} {
			resp, body := e.call(t, "GET", "/v1/solar-terms?year="+q, e.cadre, nil)
			assertProblem(t, resp, body, http.StatusUnprocessableEntity, "query.year")
		}
		for _, q := range []string{"1900", "2100"} {
			resp, body := e.call(t, "GET", "/v1/solar-terms?year="+q, e.cadre, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "year %s: %v", q, body)
			assert.Len(t, body["terms"], 24)
		}
	})

	t.Run("a token is needed", func(t *testing.T) {
		resp, body := e.call(t, "GET", "/v1/solar-terms?year=2027", "", nil)
		assertProblem(t, resp, body, http.StatusUnauthorized, "")
	})
}

func TestCreateDefaultSeasons(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()

	resp, body := e.call(t, "POST", "/v1/seasons/defaults", e.cadre, map[string]any{"year": 2027})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.EqualValues(t, 2027, body["year"])
	assert.Equal(t, "double_rice", body["system"])
	created := body["created"].([]any)
	require.Len(t, created, 3)
	assert.Empty(t, body["existing"])
	type row struct{ kind, name, start, end, state, close string }
	var got []row
	for _, c := range created {
		m := c.(map[string]any)
		crons := m["crons"].(map[string]any)
		assert.Equal(t, "0 20 * * *", crons["plan"])
		assert.Equal(t, "0 6 * * *", crons["morning"])
		got = append(got, row{m["kind"].(string), m["name"].(string), m["startDate"].(string), m["endDate"].(string),
			m["state"].(string), crons["close"].(string)})
	}
	assert.Equal(t, []row{
		{"spring", "2027 春耕", "2027-04-05", "2027-05-11", "planned", "0 22 11 5 *"},
		{"summer", "2027 双抢", "2027-07-07", "2027-08-11", "planned", "0 22 11 8 *"},
		{"autumn", "2027 秋收", "2027-10-08", "2027-11-07", "planned", "0 22 7 11 *"},
	}, got)

	t.Run("a household can ask for help in them", func(t *testing.T) {
		f := &store.Field{VillageID: e.village.ID, HouseholdID: e.home.ID, Name: "门口田", AreaCentimu: 160, Crop: store.CropEarlyRice}
		require.NoError(t, e.st.CreateField(ctx, f))
		resp, body := e.call(t, "POST", "/v1/requests", e.householdTok, map[string]any{
			"fieldId": f.ID, "task": "transplant", "earliest": "2027-04-22", "latest": "2027-04-28"})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	})

	t.Run("again: nothing new", func(t *testing.T) {
		resp, body := e.call(t, "POST", "/v1/seasons/defaults", e.cadre, map[string]any{"year": 2027, "system": "double_rice"})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Empty(t, body["created"])
		assert.Len(t, body["existing"], 3)
		_, body = e.call(t, "GET", "/v1/seasons?year=2027", e.cadre, nil)
		assert.Len(t, items(body), 3)
	})

	t.Run("another village and another crop system", func(t *testing.T) {
		resp, body := e.call(t, "POST", "/v1/seasons/defaults", e.cadreB, map[string]any{"year": 2027, "system": "single_rice"})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Len(t, body["created"], 2, "single rice: spring and autumn")
		spring := body["created"].([]any)[0].(map[string]any)
		assert.Equal(t, "2027-05-06", spring["startDate"], "from 立夏")
	})

	t.Run("what is refused", func(t *testing.T) {
		for _, tok := range []string{e.leader, e.householdTok} {
			resp, body := e.call(t, "POST", "/v1/seasons/defaults", tok, map[string]any{"year": 2028})
			assertProblem(t, resp, body, http.StatusForbidden, "")
		}
		for _, year := range []int{1899, 2101} {
			resp, body := e.call(t, "POST", "/v1/seasons/defaults", e.cadre, map[string]any{"year": year})
			assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.year")
		}
		resp, body := e.call(t, "POST", "/v1/seasons/defaults", e.cadre, map[string]any{"year": 2028, "system": "potatoes"})
		assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.system")
		resp, body = e.call(t, "POST", "/v1/seasons/defaults", e.cadre, map[string]any{})
		assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body") // huma: "expected required property year"
		ss, err := e.st.ListSeasons(ctx, e.village.ID, 2028)
		require.NoError(t, err)
		assert.Empty(t, ss)
	})
}
