use factum::CorrelatedSet;

// A correlation group is the stream `{prefix}-{key}`, whose category is the
// part before the first '-'.
#[derive(CorrelatedSet)]
#[es(prefix = "sales-order")]
struct SalesOrders;

#[derive(CorrelatedSet)]
#[es(prefix = "")]
struct Nameless;

fn main() {}
