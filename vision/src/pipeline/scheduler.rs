//! Fair hand-off of frames from cameras to inference workers. Each camera has a
//! one-frame slot: a newer frame replaces an unprocessed older one (counted as
//! dropped), so a slow pipeline never queues without bound. A camera with a frame waits
//! in one FIFO queue, at most once; a worker takes the camera at the front and puts it
//! back at the end if another frame arrived meanwhile — so a busy camera cannot starve
//! the others, and one camera is never processed by two workers at once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::source::EncodedFrame;

#[derive(Debug, Default)]
struct Slot {
    frame: Option<EncodedFrame>,
    /// In the queue or being processed.
    busy: bool,
}

#[derive(Debug)]
pub struct Scheduler {
    slots: Vec<Mutex<Slot>>,
    queue: Mutex<VecDeque<usize>>,
    ready: Condvar,
    stopped: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked mid-frame leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Scheduler {
    pub fn new(cameras: usize) -> Self {
        Scheduler {
            slots: (0..cameras).map(|_| Mutex::new(Slot::default())).collect(),
            queue: Mutex::new(VecDeque::with_capacity(cameras)),
            ready: Condvar::new(),
            stopped: AtomicBool::new(false),
        }
    }

    /// Offers camera `camera`'s newest frame. Returns true when it replaced a frame no
    /// worker had taken yet (a dropped frame).
    pub fn submit(&self, camera: usize, frame: EncodedFrame) -> bool {
        let Some(slot) = self.slots.get(camera) else {
            return false;
        };
        let mut slot = lock(slot);
        let dropped = slot.frame.replace(frame).is_some();
        if !slot.busy {
            slot.busy = true;
            drop(slot);
            lock(&self.queue).push_back(camera);
            self.ready.notify_one();
        }
        dropped
    }

    /// Waits for the next camera with a frame; None once stopped.
    pub fn next(&self) -> Option<(usize, EncodedFrame)> {
        let mut queue = lock(&self.queue);
        loop {
            if self.stopped.load(Ordering::Acquire) {
                return None;
            }
            if let Some(taken) = self.take_front(&mut queue) {
                return Some(taken);
            }
            queue = self.ready.wait(queue).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The next camera with a frame, if one is waiting now.
    pub fn try_next(&self) -> Option<(usize, EncodedFrame)> {
        let mut queue = lock(&self.queue);
        self.take_front(&mut queue)
    }

    fn take_front(&self, queue: &mut VecDeque<usize>) -> Option<(usize, EncodedFrame)> {
        while let Some(camera) = queue.pop_front() {
            if let Some(frame) = lock(&self.slots[camera]).frame.take() {
                return Some((camera, frame));
            }
        }
        None
    }

    /// The worker is done with `camera`: back in the queue if a frame is waiting.
    pub fn done(&self, camera: usize) {
        let Some(slot) = self.slots.get(camera) else {
            return;
        };
        let mut slot = lock(slot);
        if slot.frame.is_some() {
            drop(slot);
            lock(&self.queue).push_back(camera);
            self.ready.notify_one();
        } else {
            slot.busy = false;
        }
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let _guard = lock(&self.queue);
        self.ready.notify_all();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use chrono::Utc;

    fn frame(tag: u8) -> EncodedFrame {
        EncodedFrame {
            bytes: Bytes::from(vec![tag]),
            captured: Utc::now(),
        }
    }

    #[test]
    fn newest_frame_wins_and_drops_are_counted() {
        let s = Scheduler::new(2);
        assert!(!s.submit(0, frame(1)));
        assert!(s.submit(0, frame(2)));
        let (cam, f) = s.try_next().unwrap();
        assert_eq!((cam, f.bytes[0]), (0, 2));
        assert!(s.try_next().is_none());
    }

    #[test]
    fn busy_camera_goes_to_the_back() {
        let s = Scheduler::new(3);
        s.submit(0, frame(1));
        s.submit(1, frame(1));
        let (cam, _) = s.try_next().unwrap();
        assert_eq!(cam, 0);
        // Camera 0 sends again while being processed; camera 2 joins.
        s.submit(0, frame(2));
        s.submit(2, frame(1));
        // Camera 0 is not queued twice and not handed to a second worker.
        let order: Vec<usize> = std::iter::from_fn(|| s.try_next().map(|(c, _)| c)).collect();
        assert_eq!(order, vec![1, 2]);
        s.done(0);
        assert_eq!(s.try_next().map(|(c, f)| (c, f.bytes[0])), Some((0, 2)));
        s.done(0);
        s.done(1);
        s.done(2);
        assert!(s.try_next().is_none());
        // Unknown cameras are ignored.
        assert!(!s.submit(9, frame(0)));
        s.done(9);
    }

    #[test]
    fn stop_wakes_waiting_workers() {
        let s = std::sync::Arc::new(Scheduler::new(1));
        let s2 = s.clone();
        let waiter = std::thread::spawn(move || s2.next().is_none());
        std::thread::sleep(std::time::Duration::from_millis(50));
        s.stop();
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn many_producers_one_frame_each_at_most() {
        let s = std::sync::Arc::new(Scheduler::new(50));
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        s.submit((i * 7 + p) % 50, frame(p as u8));
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut seen = std::collections::HashSet::new();
        while let Some((cam, _)) = s.try_next() {
            assert!(seen.insert(cam), "camera {cam} handed out twice");
        }
        assert_eq!(seen.len(), 50);
    }
}
