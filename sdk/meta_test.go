package sdk

import (
	"testing"

	"github.com/ramp-release/ramp/internal/rollout"
)

// The SDK recognises rollout rules by the metadata the rollout engine renders; if the
// two ever disagree, no exposure is recorded and every rollout starves of data.
func TestRolloutMetadataKeysMatchTheRolloutEngine(t *testing.T) {
	for _, k := range [][2]string{{metaRolloutID, rollout.MetaRolloutID}, {metaStage, rollout.MetaStage}, {metaArm, rollout.MetaArm}} {
		if k[0] != k[1] {
			t.Errorf("the SDK reads metadata %q where the rollout engine writes %q", k[0], k[1])
		}
	}
}
