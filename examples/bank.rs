//! The bank example: an account aggregate (open, deposit, withdraw) run
//! through a repository that loads, decides, appends and retries, with
//! snapshots every 5 events, and a ledger projection that prints each new
//! event once, resuming from its checkpoint.
//!
//! Run it with `cargo run --example bank`: the events go to the SQLite file
//! `factum-bank.db`, so a second run continues from the first. With
//! `DATABASE_URL=postgres://...` (and `--features postgres`) it runs on
//! PostgreSQL instead, and with `DATABASE_URL=memory:` in memory.

mod common;

use factum::aggregate::{Aggregate, ExecuteError, Repository, SnapshotPolicy};
use factum::{
    BoxError, DomainEvent, EventFilter, Metadata, Projection, ProjectionRunner, RecordedEvent,
    SnapshotStore, async_trait,
};
use serde::{Deserialize, Serialize};

/// The state of one account, folded from its events.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Account {
    open: bool,
    balance: u64,
}

/// What happens to an account. The derive stores each variant under its
/// name (`Opened`, `Deposited`, `Withdrawn`) with its fields as the payload,
/// e.g. `{"amount":100}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DomainEvent)]
enum AccountEvent {
    Opened { owner: String },
    Deposited { amount: u64 },
    Withdrawn { amount: u64 },
}

/// What a user asks of an account.
#[derive(Debug, Clone)]
enum AccountCommand {
    Open { owner: String },
    Deposit { amount: u64 },
    Withdraw { amount: u64 },
}

/// Why an account refuses a command.
#[derive(Debug, PartialEq, thiserror::Error)]
enum AccountError {
    #[error("the account is already open")]
    AlreadyOpen,
    #[error("the account is not open")]
    NotOpen,
    #[error("insufficient funds: balance {balance}, asked {requested}")]
    InsufficientFunds { balance: u64, requested: u64 },
}

impl Aggregate for Account {
    const CATEGORY: &'static str = "account";
    type Event = AccountEvent;
    type Command = AccountCommand;
    type Error = AccountError;

    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Opened { .. } => self.open = true,
            AccountEvent::Deposited { amount } => self.balance += amount,
            AccountEvent::Withdrawn { amount } => self.balance -= amount,
        }
    }

    fn handle(&self, command: AccountCommand) -> Result<Vec<AccountEvent>, AccountError> {
        match command {
            AccountCommand::Open { .. } if self.open => Err(AccountError::AlreadyOpen),
            AccountCommand::Open { owner } => Ok(vec![AccountEvent::Opened { owner }]),
            _ if !self.open => Err(AccountError::NotOpen),
            AccountCommand::Deposit { amount } => Ok(vec![AccountEvent::Deposited { amount }]),
            AccountCommand::Withdraw { amount } if amount > self.balance => {
                Err(AccountError::InsufficientFunds {
                    balance: self.balance,
                    requested: amount,
                })
            }
            AccountCommand::Withdraw { amount } => Ok(vec![AccountEvent::Withdrawn { amount }]),
        }
    }
}

/// Prints every account event it has not printed before: its checkpoint
/// lives in the store, so a second run prints only the new events.
struct Ledger;

#[async_trait]
impl Projection for Ledger {
    fn name(&self) -> &str {
        "bank-ledger"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().categories(["account"])
    }

    async fn handle(&mut self, event: &RecordedEvent) -> Result<(), BoxError> {
        let decoded: AccountEvent = event.decode()?;
        println!(
            "  ledger: {} {}@{} {decoded:?}",
            event.position, event.stream_id, event.stream_version
        );
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let store = common::open_store("bank").await?;
    let accounts =
        Repository::<Account, _>::new(store.clone()).with_snapshots(SnapshotPolicy::Every(5));

    let before = accounts.load("ada").await?;
    if let Some(version) = before.version {
        println!(
            "account-ada exists: version {version}, balance {}",
            before.state.balance
        );
    }
    let steps = [
        AccountCommand::Open {
            owner: "Ada".into(),
        },
        AccountCommand::Deposit { amount: 100 },
        AccountCommand::Withdraw { amount: 30 },
        AccountCommand::Withdraw { amount: 5_000 },
        AccountCommand::Deposit { amount: 5 },
    ];
    for command in steps {
        print!("{command:?}: ");
        let metadata = Metadata::default().with_actor("teller-1");
        match accounts.execute_with("ada", command, metadata).await {
            Ok(done) => println!(
                "ok, stream version {:?}, balance {}",
                done.version, done.state.balance
            ),
            Err(ExecuteError::Domain { error, .. }) => println!("refused: {error}"),
            Err(other) => return Err(other.into()),
        }
    }

    let stream = accounts.stream_id("ada")?;
    if let Some(snapshot) = store.load_snapshot(&stream).await? {
        println!(
            "\nNewest snapshot: version {}; loading folds only the events after it.",
            snapshot.stream_version
        );
    }

    let mut ledger = ProjectionRunner::new(store.clone(), Ledger);
    match ledger.checkpoint().await? {
        Some(checkpoint) => println!("\nThe ledger resumes after position {checkpoint}:"),
        None => println!("\nThe ledger starts from the first event:"),
    }
    let printed = ledger.catch_up().await?;
    println!("  ({printed} new events)");

    let loaded = accounts.load("ada").await?;
    println!(
        "\nReloaded from the store: balance {} at version {:?}",
        loaded.state.balance, loaded.version
    );
    Ok(())
}
