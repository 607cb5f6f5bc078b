//! The given/when/then helpers pass right expectations and catch wrong ones.

use factum_core::DomainEvent;
use factum_core::aggregate::{Aggregate, AggregateTest};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Tank {
    litres: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum TankEvent {
    Filled(u32),
    Drained(u32),
}

impl DomainEvent for TankEvent {
    const EVENT_TYPES: &'static [&'static str] = &["Filled", "Drained"];
    fn event_type(&self) -> &'static str {
        match self {
            Self::Filled(_) => "Filled",
            Self::Drained(_) => "Drained",
        }
    }
}

#[derive(Debug, Clone)]
enum TankCommand {
    Fill(u32),
    Drain(u32),
}

#[derive(Debug, PartialEq, thiserror::Error)]
enum TankError {
    #[error("only {0} litres left")]
    NotEnough(u32),
}

impl Aggregate for Tank {
    const CATEGORY: &'static str = "tank";
    type Event = TankEvent;
    type Command = TankCommand;
    type Error = TankError;

    fn apply(&mut self, event: &TankEvent) {
        match event {
            TankEvent::Filled(n) => self.litres += n,
            TankEvent::Drained(n) => self.litres -= n,
        }
    }

    fn handle(&self, command: TankCommand) -> Result<Vec<TankEvent>, TankError> {
        match command {
            TankCommand::Fill(0) | TankCommand::Drain(0) => Ok(vec![]),
            TankCommand::Fill(n) => Ok(vec![TankEvent::Filled(n)]),
            TankCommand::Drain(n) if n > self.litres => Err(TankError::NotEnough(self.litres)),
            TankCommand::Drain(n) => Ok(vec![TankEvent::Drained(n)]),
        }
    }
}

type Test = AggregateTest<Tank>;

#[test]
fn right_expectations_pass_and_return_the_new_state() {
    let state = Test::given([TankEvent::Filled(10)])
        .when(TankCommand::Drain(4))
        .then_events([TankEvent::Drained(4)]);
    assert_eq!(state.litres, 6);
    Test::given([TankEvent::Filled(3)])
        .when(TankCommand::Drain(4))
        .then_error(TankError::NotEnough(3));
    Test::given_no_events()
        .when(TankCommand::Drain(1))
        .then_error_matches(|e| matches!(e, TankError::NotEnough(0)));
    Test::given_no_events()
        .when(TankCommand::Fill(0))
        .then_no_events();
}

#[test]
#[should_panic(expected = "expected events [Drained(5)]")]
fn wrong_events_are_caught() {
    Test::given([TankEvent::Filled(10)])
        .when(TankCommand::Drain(4))
        .then_events([TankEvent::Drained(5)]);
}

#[test]
#[should_panic(expected = "but the command failed: NotEnough(1)")]
fn unexpected_error_is_caught() {
    Test::given([TankEvent::Filled(1)])
        .when(TankCommand::Drain(4))
        .then_events([TankEvent::Drained(4)]);
}

#[test]
#[should_panic(expected = "but got events [Filled(2)]")]
fn expected_error_but_events_is_caught() {
    Test::given_no_events()
        .when(TankCommand::Fill(2))
        .then_error(TankError::NotEnough(0));
}

#[test]
#[should_panic(expected = "expected error NotEnough(9)")]
fn wrong_error_is_caught() {
    Test::given([TankEvent::Filled(1)])
        .when(TankCommand::Drain(4))
        .then_error(TankError::NotEnough(9));
}
