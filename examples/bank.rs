//! The bank example: an account aggregate (open, deposit, withdraw) run
//! through a repository that loads, decides, appends and retries.
//!
//! Run it with `cargo run --example bank`. It uses the in-memory store.

use factum::aggregate::{Aggregate, ExecuteError, Repository, SnapshotPolicy};
use factum::memory::MemoryStore;
use factum::{DomainEvent, EventReader, GlobalPosition, Metadata};
use serde::{Deserialize, Serialize};

/// The state of one account, folded from its events.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Account {
    open: bool,
    balance: u64,
}

/// What happens to an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum AccountEvent {
    Opened { owner: String },
    Deposited { amount: u64 },
    Withdrawn { amount: u64 },
}

impl DomainEvent for AccountEvent {
    const EVENT_TYPES: &'static [&'static str] = &["Opened", "Deposited", "Withdrawn"];
    fn event_type(&self) -> &'static str {
        match self {
            Self::Opened { .. } => "Opened",
            Self::Deposited { .. } => "Deposited",
            Self::Withdrawn { .. } => "Withdrawn",
        }
    }
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let accounts = Repository::<Account, _>::new(&store).with_snapshots(SnapshotPolicy::Every(10));

    let steps = [
        AccountCommand::Open {
            owner: "Ada".into(),
        },
        AccountCommand::Deposit { amount: 100 },
        AccountCommand::Withdraw { amount: 30 },
        AccountCommand::Withdraw { amount: 500 },
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
            Err(ExecuteError::Domain(refused)) => println!("refused: {refused}"),
            Err(other) => return Err(other.into()),
        }
    }

    println!("\nThe global feed:");
    for event in store.read_all(GlobalPosition::START, 100).await? {
        let decoded: AccountEvent = event.decode()?;
        println!(
            "  {} {}@{} {:?}",
            event.position, event.stream_id, event.stream_version, decoded
        );
    }
    let loaded = accounts.load("ada").await?;
    println!(
        "\nReloaded from the store: balance {}",
        loaded.state.balance
    );
    Ok(())
}
