package checkpoint

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

var idState struct {
	sync.Mutex
	lastMS  int64
	counter uint16
}

// NewCheckpointID returns a UUIDv7 (RFC 9562) string. Ids made in one process sort in
// the order they were made: the 12-bit rand_a field counts within a millisecond.
func NewCheckpointID() string {
	idState.Lock()
	ms := time.Now().UnixMilli()
	if ms > idState.lastMS {
		var seed [2]byte
		_, _ = rand.Read(seed[:])
		idState.lastMS, idState.counter = ms, binary.BigEndian.Uint16(seed[:])&0x3FF
	} else {
		idState.counter++
		if idState.counter > 0xFFF { // counter exhausted: borrow the next millisecond
			idState.lastMS, idState.counter = idState.lastMS+1, 0
		}
	}
	ms, counter := idState.lastMS, idState.counter
	idState.Unlock()

	var b [16]byte
	_, _ = rand.Read(b[8:])
	binary.BigEndian.PutUint64(b[0:8], uint64(ms)<<16|0x7<<12|uint64(counter))
	b[8] = b[8]&0x3F | 0x80 // variant 10
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
