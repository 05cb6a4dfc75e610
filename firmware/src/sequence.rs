//! A message sequence number that survives reboots without a flash write per message:
//! the counter reserves blocks of numbers in persistent storage and, after a reboot,
//! starts past the last reservation (skipping at most one block).

/// Persistent storage for the reservation (a flash word, an NVS key).
pub trait SeqStore {
    fn load(&mut self) -> Option<u64>;
    fn store(&mut self, next_block: u64);
}

/// RAM storage for hosts and tests.
#[derive(Debug, Default, Clone)]
pub struct RamSeqStore(pub Option<u64>);

impl SeqStore for RamSeqStore {
    fn load(&mut self) -> Option<u64> {
        self.0
    }
    fn store(&mut self, next_block: u64) {
        self.0 = Some(next_block);
    }
}

#[derive(Debug)]
pub struct SeqCounter<S: SeqStore> {
    store: S,
    next: u64,
    reserved_until: u64,
    block: u64,
}

impl<S: SeqStore> SeqCounter<S> {
    /// Starts after whatever was reserved before the last reboot.
    pub fn new(mut store: S, block: u64) -> Self {
        let start = store.load().unwrap_or(0);
        SeqCounter {
            store,
            next: start,
            reserved_until: start,
            block: block.max(1),
        }
    }

    pub fn issue(&mut self) -> u64 {
        if self.next >= self.reserved_until {
            self.reserved_until = self.next + self.block;
            self.store.store(self.reserved_until);
        }
        let seq = self.next;
        self.next += 1;
        seq
    }

    /// Gives the storage back (a reboot, in tests).
    pub fn into_store(self) -> S {
        self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts writes to show that flash is spared.
    #[derive(Default)]
    struct Counting(RamSeqStore, u32);

    impl SeqStore for Counting {
        fn load(&mut self) -> Option<u64> {
            self.0.load()
        }
        fn store(&mut self, v: u64) {
            self.1 += 1;
            self.0.store(v);
        }
    }

    #[test]
    fn never_repeats_across_reboots() {
        let mut counter = SeqCounter::new(Counting::default(), 100);
        let first: Vec<u64> = (0..250).map(|_| counter.issue()).collect();
        assert_eq!(first[249], 249);
        let store = counter.into_store();
        assert_eq!(store.1, 3, "one write per block of 100");
        // Reboot: continue past the reservation.
        let mut counter = SeqCounter::new(store, 100);
        let after = counter.issue();
        assert!(after > 249 && after <= 300, "{after}");
    }
}
