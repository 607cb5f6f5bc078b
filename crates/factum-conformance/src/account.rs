//! A small bank-account aggregate the repository tests run on.

use serde::{Deserialize, Serialize};

use factum_core::DomainEvent;
use factum_core::aggregate::Aggregate;

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Account {
    pub(super) open: bool,
    pub(super) balance: u64,
    pub(super) deposits: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum AccountEvent {
    Opened,
    Deposited { amount: u64 },
    Withdrawn { amount: u64 },
}

impl DomainEvent for AccountEvent {
    const EVENT_TYPES: &'static [&'static str] = &["Opened", "Deposited", "Withdrawn"];
    fn event_type(&self) -> &'static str {
        match self {
            Self::Opened => "Opened",
            Self::Deposited { .. } => "Deposited",
            Self::Withdrawn { .. } => "Withdrawn",
        }
    }
    fn schema_version(&self) -> u32 {
        2
    }
}

#[derive(Debug, Clone)]
pub(super) enum AccountCommand {
    Open,
    Deposit(u64),
    Withdraw(u64),
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub(super) enum AccountError {
    #[error("the account is not open")]
    NotOpen,
    #[error("balance {balance} is below {requested}")]
    InsufficientFunds { balance: u64, requested: u64 },
}

impl Aggregate for Account {
    const CATEGORY: &'static str = "account";
    type Event = AccountEvent;
    type Command = AccountCommand;
    type Error = AccountError;

    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Opened => self.open = true,
            AccountEvent::Deposited { amount } => {
                self.balance += amount;
                self.deposits += 1;
            }
            AccountEvent::Withdrawn { amount } => self.balance -= amount,
        }
    }

    fn handle(&self, command: AccountCommand) -> Result<Vec<AccountEvent>, AccountError> {
        match command {
            AccountCommand::Open if self.open => Ok(vec![]),
            AccountCommand::Open => Ok(vec![AccountEvent::Opened]),
            _ if !self.open => Err(AccountError::NotOpen),
            AccountCommand::Deposit(amount) => Ok(vec![AccountEvent::Deposited { amount }]),
            AccountCommand::Withdraw(amount) if amount > self.balance => {
                Err(AccountError::InsufficientFunds {
                    balance: self.balance,
                    requested: amount,
                })
            }
            AccountCommand::Withdraw(amount) => Ok(vec![AccountEvent::Withdrawn { amount }]),
        }
    }
}
