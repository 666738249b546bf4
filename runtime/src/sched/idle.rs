//! Sleeping idle workers and waking them without lost wake-ups (steps S and
//! W of `README.md`).

use crate::sync::{fence, lock, AtomicUsize, Condvar, Mutex, Ordering};
use std::time::Duration;

/// [`Idle`]'s flags: the run is over; observers' jobs wait.
const STOPPED: usize = 1;
const LOOK: usize = 2;

/// How W2 wakes a worker asleep in the network poll (S5'): the event
/// loop's waker (an `eventfd` write, which stays readable until the poll
/// sees it, so a wake-up given before the poll starts is not lost).
pub type PollWaker = std::sync::Arc<dyn Fn() + Send + Sync>;

/// How long the last worker to go idle sleeps on the condition variable
/// when it could not take the network poll (S5''; not expected to happen)
/// before it looks again.
const POLL_RETRY: Duration = Duration::from_millis(1);

/// The network poll as offered to a worker going idle ([`Idle::sleep_in`],
/// S5''): taken only when this worker is the last to go idle.
pub trait PollSleep {
    /// Take the poll for this sleep, without blocking (false: another
    /// thread holds it).
    fn take(&mut self) -> bool;
    /// Sleep in the (taken) poll until a socket event, the poll's waker or
    /// `timeout` (`None`: no limit).
    fn wait(&mut self, timeout: Option<Duration>);
}

/// What the sleeping side protects: the run's result once decided, and
/// whether a worker sleeps in the network poll instead of on the
/// condition variable (S5'), with how to wake it.
#[derive(Default)]
pub struct IdleState<R> {
    pub done: Option<R>,
    /// A worker is between S2 and S6 as the poll sleeper (S5').
    polling: bool,
    poll_waker: Option<PollWaker>,
}

impl<R> IdleState<R> {
    /// Wake the poll sleeper, if there is one (under the idle lock).
    fn wake_poller(&self) {
        if self.polling {
            if let Some(w) = &self.poll_waker {
                w();
            }
        }
    }
}

/// The idle workers of one node.
pub struct Idle<R> {
    sleepers: AtomicUsize,
    /// W2': a wake-up was given and its sleeper has not looked yet (1) or
    /// not (0): one wake-up at a time, not one per push. Cleared by every
    /// sleeper when it announces its sleep (S2) and when it wakes (S6).
    waking: AtomicUsize,
    /// Read by workers between slices without the lock: [`STOPPED`] is set
    /// with `done`; [`LOOK`] asks them to look at the node's observer jobs
    /// (`node/observe.rs`, O2), so one load checks both.
    flags: AtomicUsize,
    state: Mutex<IdleState<R>>,
    cv: Condvar,
}

impl<R> Default for Idle<R> {
    fn default() -> Self {
        Idle {
            sleepers: AtomicUsize::new(0),
            waking: AtomicUsize::new(0),
            flags: AtomicUsize::new(0),
            state: Mutex::new(IdleState {
                done: None,
                polling: false,
                poll_waker: None,
            }),
            cv: Condvar::new(),
        }
    }
}

/// Why [`Idle::sleep`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Woke {
    /// Work may be there (or a timer is due): look again.
    Look,
    /// The run is over.
    Done,
}

impl<R> Idle<R> {
    /// W2: after W1 (pushing work), wake one sleeper if there is one.
    pub fn notify_work(&self) {
        // Pairs with S2: either this load sees the sleeper's increment (and
        // the notify below reaches it, since it holds the lock from S2 until
        // it waits), or the sleeper's S3 re-check sees the work pushed in W1.
        fence(Ordering::SeqCst);
        // W2': a sleeper already woken and not yet looking will see this
        // push too (it clears `waking` before it looks, S6), so a second
        // wake-up would only cost a futex call: a poller pushing one
        // message per readiness event made one per message.
        let n = self.sleepers.load(Ordering::SeqCst);
        if n > 0 && self.waking.swap(1, Ordering::SeqCst) == 0 {
            let g = lock(&self.state);
            // S5': a sleeper on the condition variable first (the poll
            // sleeper goes on polling); the poll sleeper when it is the
            // only one. `sleepers` changes only under this lock.
            if self.sleepers.load(Ordering::SeqCst) > g.polling as usize {
                // Taking the lock is what orders this wake-up after the
                // sleeper's S5: it holds the lock from S2 until it waits.
                // The notify itself comes after letting go of it, so the
                // woken sleeper does not wake only to block on the lock
                // still held here (two futex calls more per wake-up: a
                // remote message pushed by a distribution reader made four
                // per round trip).
                drop(g);
                self.cv.notify_one();
            } else {
                g.wake_poller();
            }
        }
    }

    /// S5': how to wake a worker sleeping in the network poll (set once,
    /// when the node's network layer starts).
    pub fn set_poll_waker(&self, waker: PollWaker) {
        lock(&self.state).poll_waker = Some(waker);
    }

    /// S1–S5: sleep until notified or the next timer. `has_work` re-checks
    /// every queue and `next_timer` the timers (both under the lock); when
    /// this is the last of `workers` to go idle with no timer pending,
    /// `all_idle` decides the run's end.
    pub fn sleep(
        &self,
        workers: usize,
        has_work: impl Fn() -> bool,
        next_timer: impl FnOnce() -> Option<Duration>,
        all_idle: impl FnOnce() -> R,
    ) -> Woke {
        self.sleep_in(workers, has_work, next_timer, all_idle, None)
    }

    /// S1–S6 as [`Idle::sleep`]; with `poll` (the node has a network
    /// poll), this worker sleeps in it (S5': [`PollSleep::wait`] blocks
    /// until a socket event, the poll waker, or the timeout) instead of on
    /// the condition variable when it is the last of `workers` to go idle
    /// and nobody sleeps in the poll yet (S5''); it then holds the poll
    /// when this returns, to handle the events.
    pub fn sleep_in(
        &self,
        workers: usize,
        has_work: impl Fn() -> bool,
        next_timer: impl FnOnce() -> Option<Duration>,
        all_idle: impl FnOnce() -> R,
        poll: Option<&mut dyn PollSleep>,
    ) -> Woke {
        // S1: the caller found no work.
        let mut g = lock(&self.state);
        if g.done.is_some() {
            return Woke::Done;
        }
        // S2: announce the sleep (pairs with W2's fence and load). A
        // `waking` left set by a wake-up nobody took (its sleeper timed
        // out meanwhile) is cleared: the next push wakes this one.
        self.waking.store(0, Ordering::SeqCst);
        let n = self.sleepers.fetch_add(1, Ordering::SeqCst) + 1;
        // S3: re-check after announcing.
        if has_work() {
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            return Woke::Look;
        }
        // S3 too: the timers, read under the lock, so a timer armed by a
        // worker that went idle before us is seen.
        let mut timeout = next_timer();
        if timeout == Some(Duration::ZERO) {
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            return Woke::Look;
        }
        // S4: everyone idle, nothing queued, no timer: nothing can ever run
        // again (only a running worker or a timer makes work).
        if n == workers && timeout.is_none() {
            g.done = Some(all_idle());
            g.wake_poller();
            self.flags.fetch_or(STOPPED, Ordering::Release);
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            self.cv.notify_all();
            return Woke::Done;
        }
        // S5'' (N0'): the network poll is slept in only by the last worker
        // to go idle, and only when nobody sleeps in it yet. While another
        // worker is awake, it looks at the poll between slices and before
        // it sleeps, so an idle worker asleep in the poll would only be
        // woken by every readiness event to take work the awake one could
        // do — two workers sharing a load one can carry, each event a
        // context switch, and the process it wakes on the other core. The
        // last worker to go idle finds nobody else holding the poll
        // (every other worker is a sleeper, and only the poll sleeper
        // holds it), so some worker sleeps in the poll whenever all do.
        let mut poll = match poll {
            Some(p) if n == workers && !g.polling => {
                if p.take() {
                    Some(p)
                } else {
                    // Cannot happen (see above); never sleep unpolled
                    // for long if it did.
                    timeout = Some(timeout.map_or(POLL_RETRY, |t| t.min(POLL_RETRY)));
                    None
                }
            }
            _ => None,
        };
        if poll.is_some() {
            g.polling = true;
        }
        g = match &mut poll {
            // S5': sleep in the network poll. W2 (and E1–E3) wake it
            // through the poll waker, under this lock: either before it is
            // released here — the waker's event is then waiting when the
            // poll starts — or during the poll.
            Some(poll) => {
                drop(g);
                poll.wait(timeout);
                let mut g = lock(&self.state);
                g.polling = false;
                g
            }
            // S5: wait (releasing the lock atomically), then look again.
            None => match timeout {
                Some(t) => {
                    self.cv
                        .wait_timeout(g, t)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.cv.wait(g).unwrap_or_else(|e| e.into_inner()),
            },
        };
        // S6: awake, about to look (W2': later pushes wake the next one).
        self.waking.store(0, Ordering::SeqCst);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        if g.done.is_some() {
            Woke::Done
        } else {
            Woke::Look
        }
    }

    /// End the run with `result` (EXIT, the last process ended) unless it
    /// already ended, and wake everyone.
    pub fn finish(&self, result: impl FnOnce() -> R) {
        let mut g = lock(&self.state);
        if g.done.is_none() {
            g.done = Some(result());
        }
        self.flags.fetch_or(STOPPED, Ordering::Release);
        self.cv.notify_all();
        g.wake_poller();
    }

    /// Whether the run is over (cheap; for workers between slices).
    pub fn is_done(&self) -> bool {
        self.flags.load(Ordering::Acquire) & STOPPED != 0
    }

    /// Whether the run is over or observers' jobs wait ([`Idle::look`]):
    /// the one check workers make between slices.
    #[inline]
    pub fn attention(&self) -> bool {
        self.flags.load(Ordering::Acquire) != 0
    }

    /// Ask the workers to look at the observers' jobs (O2).
    pub fn look(&self) {
        self.flags.fetch_or(LOOK, Ordering::SeqCst);
    }

    /// A worker looked (under the jobs' lock, before taking them).
    pub fn looked(&self) {
        self.flags.fetch_and(!LOOK, Ordering::SeqCst);
    }

    /// The result, once decided.
    pub fn take_result(&self) -> Option<R> {
        lock(&self.state).done.take()
    }

    /// Make a finished run's idle state ready for another run (no worker
    /// runs now): for hosts that run a node in rounds (`node/rounds.rs`).
    pub fn reset(&self) {
        let mut g = lock(&self.state);
        g.done = None;
        self.flags.fetch_and(!STOPPED, Ordering::Release);
    }
}
