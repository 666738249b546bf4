//! Unit tests of message patterns, the mailbox and the process state
//! machine.

use super::*;

#[test]
fn patterns_match_by_the_rules() {
    let msg = Value::list(vec![
        Value::str("DOWN"),
        Value::Int(3),
        Value::Int(7),
        Value::str("x"),
    ]);
    let pat = Value::list(vec![
        Value::str("DOWN"),
        Value::Int(3),
        Value::Null,
        Value::Null,
    ]);
    assert!(matches(&pat, &msg));
    let wrong = Value::list(vec![
        Value::str("DOWN"),
        Value::Int(4),
        Value::Null,
        Value::Null,
    ]);
    assert!(!matches(&wrong, &msg));
    assert!(!matches(&Value::list(vec![Value::Null]), &msg));
    assert!(matches(&Value::Null, &Value::Int(1)));
    assert!(matches(&Value::Int(1), &Value::Float(1.0)));
}

fn running(p: &Process<()>, own: &mut Own) {
    let Start::Run(()) = p.transition_to_running(own) else {
        panic!("a queued process runs")
    };
}

#[test]
fn a_message_racing_a_wait_is_not_lost() {
    let p = Process::new(1, (), None);
    let mut own = Own::default();
    running(&p, &mut own);
    assert!(matches!(
        p.receive(&mut own, None, false, None),
        Received::Wait(None)
    ));
    // The message arrives after the receive found nothing but before
    // the worker parked the process: it must be requeued, not parked.
    assert!(!p.deliver(Value::Int(1)));
    assert_eq!(
        p.transition_after_slice((), &mut own, SliceEnd::Waiting),
        After::Requeue
    );
    running(&p, &mut own);
    assert!(matches!(
        p.receive(&mut own, None, false, None),
        Received::Message(Value::Int(1))
    ));
}

#[test]
fn a_message_in_the_inbox_is_received_in_order() {
    let p = Process::new(1, (), None);
    assert!(!p.deliver(Value::Int(1)));
    let mut own = Own::default();
    running(&p, &mut own);
    assert!(!p.deliver(Value::Int(2)));
    assert!(!p.deliver(Value::Int(3)));
    // Selective: 3 first (from the inbox), then 1 and 2 in order.
    let got = p.receive(&mut own, Some(&Value::Int(3)), false, None);
    assert!(matches!(got, Received::Message(Value::Int(3))));
    assert!(!p.deliver(Value::Int(4)));
    for want in [1, 2, 4] {
        let got = p.receive(&mut own, None, false, None);
        assert!(matches!(got, Received::Message(Value::Int(n)) if n == want));
    }
    assert!(matches!(
        p.receive(&mut own, None, true, None),
        Received::TimedOut
    ));
}

#[test]
fn unmatched_messages_stay_in_order_across_slices() {
    let p = Process::new(1, (), None);
    let mut own = Own::default();
    assert!(!p.deliver(Value::Int(1)));
    running(&p, &mut own);
    let pat = Value::Int(9);
    assert!(matches!(
        p.receive(&mut own, Some(&pat), false, None),
        Received::Wait(None)
    ));
    assert!(!p.deliver(Value::Int(2)));
    assert_eq!(
        p.transition_after_slice((), &mut own, SliceEnd::Waiting),
        After::Parked(None)
    );
    assert!(!p.deliver(Value::Int(3)), "not what it waits for");
    assert!(p.deliver(Value::Int(9)));
    running(&p, &mut own);
    for want in [9, 1, 2, 3] {
        let pat = Value::Int(want);
        let got = p.receive(&mut own, Some(&pat), false, None);
        assert!(matches!(got, Received::Message(Value::Int(n)) if n == want));
    }
}

#[test]
fn a_parked_process_is_queued_once() {
    let p = Process::new(1, (), None);
    let mut own = Own::default();
    running(&p, &mut own);
    p.receive(&mut own, None, false, None);
    assert_eq!(
        p.transition_after_slice((), &mut own, SliceEnd::Waiting),
        After::Parked(None)
    );
    assert!(p.deliver(Value::Int(1)));
    assert!(!p.deliver(Value::Int(2)), "already queued");
    assert!(matches!(p.kill(Value::str("x")), Kill::Now(_)));
    assert!(
        matches!(p.transition_to_running(&mut own), Start::Skip(None)),
        "exiting"
    );
}

#[test]
fn a_timer_ends_only_its_own_wait() {
    let p = Process::new(1, (), None);
    let mut own = Own::default();
    running(&p, &mut own);
    let deadline = Instant::now();
    p.receive(&mut own, None, false, Some(deadline));
    let After::Parked(Some((_, token))) = p.transition_after_slice((), &mut own, SliceEnd::Waiting)
    else {
        panic!("parked with a timer")
    };
    assert!(!p.fire_timer(token + 1), "an older wait's timer");
    assert!(p.timer_is_live(token));
    assert!(p.fire_timer(token));
    running(&p, &mut own);
    assert!(matches!(
        p.receive(&mut own, None, false, Some(deadline)),
        Received::TimedOut
    ));
}

/// O1: what an observer reads of a process in each state: a queued one
/// whole, a running one without its state and with its inbox as a lower
/// bound of the mailbox, a waiting one with its wait and time left.
#[test]
fn observers_see_each_state() {
    let p = Process::new(5, 7u32, Some(1));
    let now = Instant::now();
    p.deliver(Value::Int(1));
    let v = p.view(now, |s| *s);
    assert_eq!(
        (v.pid, v.status, v.state),
        (5, ViewStatus::Runnable, Some(7))
    );
    assert_eq!((v.mailbox, v.mailbox_exact), (1, true));
    assert_eq!(v.links, vec![1]);
    assert_eq!(v.note, [u64::MAX, 0], "no note yet");
    let mut own = Own::default();
    let Start::Run(state) = p.transition_to_running(&mut own) else {
        panic!("a queued process runs")
    };
    p.deliver(Value::Int(2));
    p.note(42, 99);
    let v = p.view(now, |s| *s);
    assert_eq!((v.status, v.state), (ViewStatus::Running, None));
    assert_eq!((v.mailbox, v.mailbox_exact), (1, false), "the inbox only");
    assert_eq!(v.note, [42, 99]);
    // It takes both messages, then waits for a pattern with a timeout.
    let mut out = Vec::new();
    for _ in 0..2 {
        assert_eq!(
            p.receive_into(&mut own, None, false, None, &mut out),
            Got::Message
        );
    }
    let deadline = now + std::time::Duration::from_secs(5);
    assert_eq!(
        p.receive_into(
            &mut own,
            Some(&Value::Int(9)),
            false,
            Some(deadline),
            &mut out
        ),
        Got::Wait
    );
    assert!(matches!(
        p.transition_after_slice(state, &mut own, SliceEnd::Waiting),
        After::Parked(Some(_))
    ));
    p.with_meta(|m| m.trap_exit = true);
    let v = p.view(now, |s| *s);
    assert_eq!(
        v.status,
        ViewStatus::Receive {
            pattern: true,
            left: Some(std::time::Duration::from_secs(5))
        }
    );
    assert_eq!((v.state, v.mailbox, v.trap_exit), (Some(7), 0, true));
}
