//! Store-and-forward: a bounded ring of unsent payloads behind a storage trait that
//! RAM or flash implements, sent oldest first once the link is back; when full, the
//! oldest is dropped and counted. And the reconnect backoff: exponential with full
//! jitter, so that a district's nodes do not reconnect in lockstep after an outage.

/// Fixed-size slots for payloads.
pub trait SlotStorage {
    fn slots(&self) -> usize;
    fn slot_len(&self) -> usize;
    fn write(&mut self, slot: usize, data: &[u8]);
    /// Copies the slot into `out`; returns its length.
    fn read(&self, slot: usize, out: &mut [u8]) -> usize;
}

/// RAM slots: `N` payloads of up to `L` bytes.
pub struct RamSlots<const N: usize, const L: usize> {
    data: [[u8; L]; N],
    lens: [u16; N],
}

impl<const N: usize, const L: usize> RamSlots<N, L> {
    pub const fn new() -> Self {
        RamSlots {
            data: [[0; L]; N],
            lens: [0; N],
        }
    }
}

impl<const N: usize, const L: usize> Default for RamSlots<N, L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const L: usize> SlotStorage for RamSlots<N, L> {
    fn slots(&self) -> usize {
        N
    }
    fn slot_len(&self) -> usize {
        L
    }
    fn write(&mut self, slot: usize, data: &[u8]) {
        self.data[slot][..data.len()].copy_from_slice(data);
        self.lens[slot] = data.len() as u16;
    }
    fn read(&self, slot: usize, out: &mut [u8]) -> usize {
        let n = usize::from(self.lens[slot]).min(out.len());
        out[..n].copy_from_slice(&self.data[slot][..n]);
        n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// Larger than a slot: cannot be kept at all.
    TooLarge,
}

pub struct Outbox<S: SlotStorage> {
    storage: S,
    head: usize,
    len: usize,
    pub dropped: u32,
}

impl<S: SlotStorage> Outbox<S> {
    pub fn new(storage: S) -> Self {
        Outbox {
            storage,
            head: 0,
            len: 0,
            dropped: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn free(&self) -> usize {
        self.storage.slots() - self.len
    }

    /// Queues a payload; when full, the oldest one makes room (and is counted).
    pub fn push(&mut self, payload: &[u8]) -> Result<(), PushError> {
        if payload.len() > self.storage.slot_len() {
            return Err(PushError::TooLarge);
        }
        let slots = self.storage.slots();
        if self.len == slots {
            self.head = (self.head + 1) % slots;
            self.len -= 1;
            self.dropped = self.dropped.saturating_add(1);
        }
        let tail = (self.head + self.len) % slots;
        self.storage.write(tail, payload);
        self.len += 1;
        Ok(())
    }

    /// The oldest payload, copied into `out`; its length.
    pub fn peek(&self, out: &mut [u8]) -> Option<usize> {
        (self.len > 0).then(|| self.storage.read(self.head, out))
    }

    /// Forgets the oldest payload once the broker has it.
    pub fn pop(&mut self) {
        if self.len > 0 {
            self.head = (self.head + 1) % self.storage.slots();
            self.len -= 1;
        }
    }
}

/// Exponential backoff with full jitter: the n-th wait is uniform in
/// `0..=min(max, base * 2^n)`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ms: u32,
    max_ms: u32,
    attempt: u32,
}

impl Backoff {
    pub const fn new(base_ms: u32, max_ms: u32) -> Self {
        Backoff {
            base_ms,
            max_ms,
            attempt: 0,
        }
    }

    /// The next wait, given a random number (from the node's RNG).
    pub fn next_delay_ms(&mut self, random: u32) -> u32 {
        let ceiling = u64::from(self.base_ms)
            .saturating_mul(1u64 << self.attempt.min(31))
            .min(u64::from(self.max_ms));
        self.attempt = self.attempt.saturating_add(1);
        (u64::from(random) % (ceiling + 1)) as u32
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(outbox: &Outbox<RamSlots<3, 16>>) -> Option<Vec<u8>> {
        let mut buf = [0u8; 16];
        outbox.peek(&mut buf).map(|n| buf[..n].to_vec())
    }

    #[test]
    fn sends_oldest_first_and_drops_the_oldest_when_full() {
        let mut o = Outbox::new(RamSlots::<3, 16>::new());
        for p in [b"a".as_slice(), b"bb", b"ccc"] {
            o.push(p).unwrap();
        }
        assert_eq!((o.len(), o.free()), (3, 0));
        o.push(b"dddd").unwrap();
        assert_eq!(o.dropped, 1);
        assert_eq!(read(&o).as_deref(), Some(b"bb".as_slice()));
        o.pop();
        assert_eq!(read(&o).as_deref(), Some(b"ccc".as_slice()));
        o.pop();
        o.pop();
        assert!(o.is_empty() && read(&o).is_none());
        assert_eq!(o.push(&[0; 17]), Err(PushError::TooLarge));
    }

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let mut b = Backoff::new(500, 30_000);
        let ceilings = [500u32, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
        for ceiling in ceilings {
            // Every wait stays under the ceiling, and the ceiling itself is reachable.
            let mut probe = b.clone();
            assert!(probe.next_delay_ms(u32::MAX) <= ceiling);
            assert_eq!(b.next_delay_ms(ceiling), ceiling);
        }
        b.reset();
        assert!(b.next_delay_ms(u32::MAX) <= 500);
    }
}
