//! The enrolment example: decisions on facts spread over several streams
//! (the Dynamic Consistency Boundary model), with no stream guarding them.
//!
//! - A student's email is unique among all students, whatever stream each
//!   student lives in: registering reads the events tagged with the email.
//! - A course holds at most its capacity: subscribing reads the course's
//!   definition and every subscription tagged with the course, and the
//!   student's own registration and subscriptions.
//!
//! Each command is a [`Decision`] run by a [`Decider`]: it reads its query,
//! decides, and appends under the condition that no matching event was
//! stored since; 15 students subscribe at once to a course of 10 seats, and
//! exactly 10 get in.
//!
//! Run it with `cargo run --example enrolment` (SQLite file
//! `factum-enrolment.db`; `DATABASE_URL` picks another store). A second run
//! continues: the course exists, the emails are taken, the seats are gone,
//! and only the one new student of each run registers.

mod common;

use factum::aggregate::{Decided, Decider, Decision, ExecuteError};
use std::collections::HashSet;

use factum::{BoxError, DomainEvent, EventQuery, QueryItem, StreamId, Tag};
use serde::{Deserialize, Serialize};

/// Everything that happens around enrolment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DomainEvent)]
enum EnrolmentEvent {
    CourseDefined { course: String, capacity: usize },
    StudentRegistered { student: String, email: String },
    StudentSubscribed { course: String, student: String },
}

/// What each event is about: the tags queries find it by.
fn tags_of(event: &EnrolmentEvent) -> Vec<Tag> {
    match event {
        EnrolmentEvent::CourseDefined { course, .. } => vec![tag("course", course)],
        EnrolmentEvent::StudentRegistered { student, email } => {
            vec![tag("student", student), tag("email", email)]
        }
        EnrolmentEvent::StudentSubscribed { course, student } => {
            vec![tag("course", course), tag("student", student)]
        }
    }
}

/// The tag `kind:value`; the example's ids and emails hold no whitespace.
fn tag(kind: &str, value: &str) -> Tag {
    Tag::new(format!("{kind}:{value}")).expect("example tags are valid")
}

fn stream(kind: &str, id: &str) -> StreamId {
    StreamId::new(format!("{kind}-{id}")).expect("example stream ids are valid")
}

/// Why a command is refused.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("the email {0} is taken")]
    EmailTaken(String),
    #[error("no course {0}")]
    NoSuchCourse(String),
    #[error("no student {0}")]
    NoSuchStudent(String),
    #[error("course {0} is full")]
    CourseFull(String),
    #[error("{student} is subscribed to {course} already")]
    AlreadySubscribed { course: String, student: String },
}

/// Defines a course once; defining it again changes nothing.
#[derive(Default)]
struct DefineCourse {
    defined: bool,
}

impl Decision for DefineCourse {
    type Command = (String, usize);
    type Event = EnrolmentEvent;
    type Error = Refused;

    fn query((course, _): &(String, usize)) -> EventQuery {
        EventQuery::item(QueryItem::types(["CourseDefined"]).with_tag(tag("course", course)))
    }
    fn apply(&mut self, _: &EnrolmentEvent) {
        self.defined = true;
    }
    fn decide(
        &self,
        (course, capacity): &(String, usize),
    ) -> Result<Vec<Decided<EnrolmentEvent>>, Refused> {
        if self.defined {
            return Ok(Vec::new());
        }
        let defined = EnrolmentEvent::CourseDefined {
            course: course.clone(),
            capacity: *capacity,
        };
        Ok(vec![Decided::new(stream("course", course), defined)])
    }
    fn tags(event: &EnrolmentEvent) -> Vec<Tag> {
        tags_of(event)
    }
}

/// Registers a student under an email no other student has.
#[derive(Default)]
struct Register {
    email_taken: bool,
}

impl Decision for Register {
    /// The student's id and email.
    type Command = (String, String);
    type Event = EnrolmentEvent;
    type Error = Refused;

    fn query((_, email): &(String, String)) -> EventQuery {
        EventQuery::item(QueryItem::types(["StudentRegistered"]).with_tag(tag("email", email)))
    }
    fn apply(&mut self, _: &EnrolmentEvent) {
        self.email_taken = true;
    }
    fn decide(
        &self,
        (student, email): &(String, String),
    ) -> Result<Vec<Decided<EnrolmentEvent>>, Refused> {
        if self.email_taken {
            return Err(Refused::EmailTaken(email.clone()));
        }
        let registered = EnrolmentEvent::StudentRegistered {
            student: student.clone(),
            email: email.clone(),
        };
        Ok(vec![Decided::new(stream("student", student), registered)])
    }
    fn tags(event: &EnrolmentEvent) -> Vec<Tag> {
        tags_of(event)
    }
}

/// Subscribes a registered student to a course that has a seat left.
#[derive(Default)]
struct Subscribe {
    capacity: Option<usize>,
    subscribers: HashSet<String>,
    registered: bool,
}

impl Decision for Subscribe {
    /// The course and the student.
    type Command = (String, String);
    type Event = EnrolmentEvent;
    type Error = Refused;

    fn query((course, student): &(String, String)) -> EventQuery {
        EventQuery::item(
            QueryItem::types(["CourseDefined", "StudentSubscribed"])
                .with_tag(tag("course", course)),
        )
        .or(QueryItem::types(["StudentRegistered"]).with_tag(tag("student", student)))
    }
    fn apply(&mut self, event: &EnrolmentEvent) {
        match event {
            EnrolmentEvent::CourseDefined { capacity, .. } => self.capacity = Some(*capacity),
            EnrolmentEvent::StudentRegistered { .. } => self.registered = true,
            EnrolmentEvent::StudentSubscribed { student, .. } => {
                self.subscribers.insert(student.clone());
            }
        }
    }
    fn decide(
        &self,
        (course, student): &(String, String),
    ) -> Result<Vec<Decided<EnrolmentEvent>>, Refused> {
        let capacity = self
            .capacity
            .ok_or_else(|| Refused::NoSuchCourse(course.clone()))?;
        if !self.registered {
            return Err(Refused::NoSuchStudent(student.clone()));
        }
        if self.subscribers.contains(student) {
            return Err(Refused::AlreadySubscribed {
                course: course.clone(),
                student: student.clone(),
            });
        }
        if self.subscribers.len() >= capacity {
            return Err(Refused::CourseFull(course.clone()));
        }
        let subscribed = EnrolmentEvent::StudentSubscribed {
            course: course.clone(),
            student: student.clone(),
        };
        Ok(vec![Decided::new(stream("student", student), subscribed)])
    }
    fn tags(event: &EnrolmentEvent) -> Vec<Tag> {
        tags_of(event)
    }
}

/// "ok" or the refusal; a store failure ends the example.
fn outcome<T>(result: Result<T, ExecuteError<Refused>>) -> Result<String, BoxError> {
    match result {
        Ok(_) => Ok("ok".into()),
        Err(ExecuteError::Domain { error, .. }) => Ok(format!("refused: {error}")),
        Err(other) => Err(other.into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let store = common::open_store("enrolment").await?;
    let course = "rust-101".to_string();

    let courses = Decider::<DefineCourse, _>::new(store.clone());
    let defined = courses
        .execute((course.clone(), 10))
        .await
        .map_err(BoxError::from)?;
    match defined.events.len() {
        0 => println!("Course {course} was defined by an earlier run."),
        _ => println!("Course {course} defined with 10 seats."),
    }

    // Fifteen students; the 16th email is the first one again.
    let registrations = Decider::<Register, _>::new(store.clone());
    let students: Vec<String> = (1..=15).map(|n| format!("s{n}")).collect();
    for student in &students {
        let email = format!("{student}@school.example");
        let done = registrations
            .execute((student.clone(), email.clone()))
            .await;
        println!("register {student} <{email}>: {}", outcome(done)?);
    }
    let copycat = registrations
        .execute(("s99".into(), "s1@school.example".into()))
        .await;
    println!("register s99 <s1@school.example>: {}", outcome(copycat)?);
    // One new student each run, so that a run always writes something.
    let run = store.head_position().await?.map_or(0, |p| p.to_parts().1);
    let newcomer = format!("new{run}");
    let done = registrations
        .execute((newcomer.clone(), format!("{newcomer}@school.example")))
        .await;
    println!("register {newcomer}: {}", outcome(done)?);

    // All of them subscribe at once: exactly the seats left get in.
    let subscriptions = Decider::<Subscribe, _>::new(store.clone());
    let racing: Vec<_> = students
        .iter()
        .chain([&newcomer])
        .map(|student| {
            let (subscriptions, command) =
                (subscriptions.clone(), (course.clone(), student.clone()));
            tokio::spawn(async move { (command.1.clone(), subscriptions.execute(command).await) })
        })
        .collect();
    let mut got_in = 0;
    for task in racing {
        let (student, result) = task.await?;
        let said = outcome(result)?;
        got_in += usize::from(said == "ok");
        println!("subscribe {student}: {said}");
    }
    let seats = subscriptions.load(&(course.clone(), newcomer)).await?.state;
    println!(
        "\n{got_in} got in this run; course {course} holds {} of {} seats.",
        seats.subscribers.len(),
        seats.capacity.unwrap_or(0)
    );
    assert!(
        seats.subscribers.len() <= seats.capacity.unwrap_or(0),
        "never over capacity"
    );
    Ok(())
}
