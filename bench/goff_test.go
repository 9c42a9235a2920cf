package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	ffclient "github.com/thomaspoignant/go-feature-flag"
	"github.com/thomaspoignant/go-feature-flag/ffcontext"
	"github.com/thomaspoignant/go-feature-flag/retriever/fileretriever"
)

// sharedGoffFile is the flag file of ../../shared/bench (the one the relay proxy
// serves in the OFREP benchmark); testdata/flags.goff.yaml is a copy, used when the
// shared directory is not beside the clone.
var sharedGoffFile = filepath.Join("..", "..", "shared", "bench", "flags.goff.yaml")

func goffFile() string {
	if _, err := os.Stat(sharedGoffFile); err == nil {
		return sharedGoffFile
	}
	return filepath.Join("testdata", "flags.goff.yaml")
}

func TestGoffFlagFileMatchesShared(t *testing.T) {
	shared, err := os.ReadFile(sharedGoffFile)
	if err != nil {
		t.Skipf("no shared flag file: %v", err)
	}
	local, err := os.ReadFile(filepath.Join("testdata", "flags.goff.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, local) {
		t.Fatalf("testdata/flags.goff.yaml differs from %s: copy it again", sharedGoffFile)
	}
}

func goffContexts() []ffcontext.Context {
	us := units()
	ctxs := make([]ffcontext.Context, len(us))
	for i, u := range us {
		ctxs[i] = ffcontext.NewEvaluationContextBuilder(u.key).AddCustom("country", u.country).Build()
	}
	return ctxs
}

// goffClient is go-feature-flag's Go module with a file retriever and no exporter
// or notifier: nothing leaves the process.
func goffClient(tb testing.TB) *ffclient.GoFeatureFlag {
	c, err := ffclient.New(ffclient.Config{
		PollingInterval: time.Hour,
		Retriever:       &fileretriever.Retriever{Path: goffFile()},
		FileFormat:      "yaml",
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

func TestGoFeatureFlagSemantics(t *testing.T) {
	c, ctxs := goffClient(t), goffContexts()
	checkSemantics(t, func(i int) (bool, error) {
		return c.BoolVariation(flagKey, ctxs[i], false)
	})
}

// BenchmarkGoFeatureFlag is GoFeatureFlag.BoolVariation.
func BenchmarkGoFeatureFlag(b *testing.B) {
	c, ctxs := goffClient(b), goffContexts()
	b.ReportAllocs()
	i, on := 0, 0
	for b.Loop() {
		if v, _ := c.BoolVariation(flagKey, ctxs[i], false); v {
			on++
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	checkOnRate(b, on)
}
