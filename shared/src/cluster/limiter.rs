//! [`Limiter`]: how many API requests are in flight at once, adapted to the server's feedback.
//!
//! Additive increase, multiplicative decrease (what TCP does): every answered request lets the
//! limit grow by one per full window, up to the configured maximum; a `429 Too Many Requests`
//! halves it and, when the server sent `Retry-After`, holds new requests back until then. There
//! is no fixed client-side QPS cap: a server with API Priority and Fairness says when it is
//! overloaded, and a fixed cap only makes commands wait for nothing (user-asks row 6).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The longest pause a `Retry-After` may impose on every request.
const MAX_PAUSE: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    /// Successes since the limit last changed (the window for an additive increase).
    successes: usize,
    paused_until: Option<Instant>,
}

/// An adaptive bound on concurrent requests; cheap to share (`Arc`).
#[derive(Debug)]
pub struct Limiter {
    max: usize,
    state: Mutex<State>,
    notify: Notify,
}

/// A slot for one request; gives the slot back when dropped.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.limiter.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        self.limiter.notify.notify_one();
    }
}

impl Limiter {
    /// A limiter that allows up to `max` requests at once (at least 1), starting at `max`.
    pub fn new(max: usize) -> Arc<Self> {
        let max = max.max(1);
        Arc::new(Limiter {
            max,
            state: Mutex::new(State {
                limit: max,
                in_flight: 0,
                successes: 0,
                paused_until: None,
            }),
            notify: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    /// The configured maximum.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Waits for a slot.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before looking at the state, so a release in between is not missed.
            notified.as_mut().enable();
            let pause = {
                let mut state = self.lock();
                match state.paused_until {
                    Some(until) if until > Instant::now() => Some(until),
                    _ => {
                        state.paused_until = None;
                        if state.in_flight < state.limit {
                            state.in_flight += 1;
                            return Permit {
                                limiter: Arc::clone(self),
                            };
                        }
                        None
                    }
                }
            };
            match pause {
                Some(until) => tokio::time::sleep_until(until).await,
                None => notified.await,
            }
        }
    }

    /// Reports an answered request (any answer but 429): the limit grows by one per window.
    pub fn on_success(&self) {
        let mut state = self.lock();
        if state.limit >= self.max {
            return;
        }
        state.successes += 1;
        if state.successes >= state.limit {
            state.successes = 0;
            state.limit += 1;
            drop(state);
            self.notify.notify_one();
        }
    }

    /// Reports a `429`: halves the limit and, with `retry_after`, pauses new requests.
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        let mut state = self.lock();
        state.limit = (state.limit / 2).max(1);
        state.successes = 0;
        if let Some(delay) = retry_after {
            let until = Instant::now() + delay.min(MAX_PAUSE);
            if state.paused_until.is_none_or(|p| p < until) {
                state.paused_until = Some(until);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn never_more_requests_in_flight_than_the_limit() {
        let limiter = Limiter::new(3);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (limiter, in_flight, peak) = (limiter.clone(), in_flight.clone(), peak.clone());
                tokio::spawn(async move {
                    let _permit = limiter.acquire().await;
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn throttling_halves_the_limit_pauses_and_recovers() {
        let limiter = Limiter::new(16);
        limiter.on_throttled(Some(Duration::from_millis(200)));
        assert_eq!(limiter.limit(), 8);
        let start = Instant::now();
        drop(limiter.acquire().await);
        assert!(
            start.elapsed() >= Duration::from_millis(190),
            "the Retry-After pause is honoured"
        );
        limiter.on_throttled(None);
        assert_eq!(limiter.limit(), 4);
        // One more slot per window of successes, up to the maximum again.
        for _ in 0..4 {
            limiter.on_success();
        }
        assert_eq!(limiter.limit(), 5);
        for _ in 0..1000 {
            limiter.on_success();
        }
        assert_eq!(limiter.limit(), 16);
    }
}
