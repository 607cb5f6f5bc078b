use factum::DomainEvent;

#[derive(DomainEvent)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
