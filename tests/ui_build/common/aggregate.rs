//! `aggregate!(Name, "category")`: an aggregate of one event, `Placed`,
//! whose commands are `()` and always place one, in the category given.

macro_rules! aggregate {
    ($name:ident, $category:literal) => {
        #[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
        struct $name;

        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, factum::DomainEvent)]
        struct Placed;

        #[derive(Debug, thiserror::Error)]
        #[error("never")]
        struct Never;

        impl factum::aggregate::Aggregate for $name {
            const CATEGORY: &'static str = $category;
            type Event = Placed;
            type Command = ();
            type Error = Never;
            fn apply(&mut self, _: &Placed) {}
            fn handle(&self, (): ()) -> Result<Vec<Placed>, Never> {
                Ok(vec![Placed])
            }
        }
    };
}
