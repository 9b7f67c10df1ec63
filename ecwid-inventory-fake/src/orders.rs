//! The order reads: one order (`GET /orders/{orderId}`) and the order search (`GET /orders`),
//! answered from the orders the storefront made. Each answer is built from the spec's generated
//! types (`Order`, `OrderItem`, `OrderPage`), then cut down to the `responseFields` asked for,
//! as the catalog reads are.

use std::collections::BTreeSet;

use hyper::StatusCode;

use super::answer::Answer;
use super::order_book::{order_id, OrderRecord, OrderRef};
use super::products::{count, count_parameter, read_answer, response_fields, time_parameter};
use super::request::Query;
use super::state::State;
use super::time::format_date;
use ecwid_inventory::generated::types::{Order, OrderItem, OrderItemOption, OrderPage};
use ecwid_inventory::{orders::PaymentStatus, StockItem, StoreId};

/// Ecwid's largest page of an order search, and its default.
pub(crate) const MAX_ORDER_LIMIT: i32 = 100;

/// The answer's form of an order: every field the fake knows.
pub(crate) fn order_body(order: &OrderRecord) -> Order {
    let id_field = |id: u64| i64::try_from(id).unwrap_or(i64::MAX);
    Order {
        id: Some(order.id.as_str().to_owned()),
        order_number: Some(order.number.into()),
        payment_status: Some(order.payment.as_str().to_owned()),
        fulfillment_status: Some(order.fulfillment.as_str().to_owned()),
        create_timestamp: Some(order.created),
        update_timestamp: Some(order.updated),
        create_date: Some(format_date(order.created)),
        update_date: Some(format_date(order.updated)),
        items: order
            .lines
            .iter()
            .map(|line| OrderItem {
                id: Some(id_field(line.id)),
                product_id: Some(id_field(line.item.product().get())),
                combination_id: match line.item {
                    StockItem::Variation { combination, .. } => Some(id_field(combination.get())),
                    StockItem::Product { .. } => None,
                },
                sku: Some(line.sku.clone()),
                quantity: Some(i64::from(line.quantity)),
                name: None,
                track_quantity: Some(line.tracked),
                selected_options: line
                    .options
                    .iter()
                    .map(|option| OrderItemOption {
                        name: Some(option.name.clone()),
                        type_: Some("CHOICE".to_owned()),
                        value: Some(option.value.clone()),
                        values_array: vec![option.value.clone()],
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The 404 of an order the store does not have.
pub(crate) fn order_not_found(order: OrderRef) -> Answer {
    let message = match order.0.and_then(order_id) {
        Some(id) => format!("Order {id} not found"),
        None => "No order has this id".to_owned(),
    };
    Answer::error(StatusCode::NOT_FOUND, "ORDER_NOT_FOUND", message)
}

/// An order search's filters and page, read from its query.
struct OrderSearch {
    ids: Option<BTreeSet<String>>,
    /// Both bounds included, in UNIX seconds.
    updated: (Option<i64>, Option<i64>),
    created: (Option<i64>, Option<i64>),
    payment: Option<BTreeSet<String>>,
    fulfillment: Option<BTreeSet<String>>,
    offset: i32,
    limit: i32,
}

impl OrderSearch {
    fn parse(query: &Query) -> Result<Self, Answer> {
        let ids = query
            .get("ids")
            .map(|list| {
                comma_list(list, |id| !id.chars().any(char::is_whitespace)).ok_or_else(|| {
                    Answer::wrong_parameter(format!(
                        "ids must be order ids separated by commas, not {list:?}"
                    ))
                })
            })
            .transpose()?;
        let statuses = |name: &str| {
            query
                .get(name)
                .map(|list| {
                    let status = |s: &str| {
                        s.bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                    };
                    comma_list(list, status).ok_or_else(|| {
                        Answer::wrong_parameter(format!(
                            "{name} must be statuses such as PAID separated by commas, not \
                             {list:?}"
                        ))
                    })
                })
                .transpose()
        };
        let payment = statuses("paymentStatus")?;
        let fulfillment = statuses("fulfillmentStatus")?;
        let updated = (
            time_parameter(query, "updatedFrom")?,
            time_parameter(query, "updatedTo")?,
        );
        let created = (
            time_parameter(query, "createdFrom")?,
            time_parameter(query, "createdTo")?,
        );
        let offset = count_parameter(query, "offset")?.unwrap_or(0);
        // Last: a well-formed request for too many orders is 402, not 400.
        let limit = match count_parameter(query, "limit")? {
            None => MAX_ORDER_LIMIT,
            Some(0) => return Err(Answer::wrong_parameter("limit must be at least 1")),
            Some(limit) if limit > MAX_ORDER_LIMIT => {
                return Err(Answer::error(
                    StatusCode::PAYMENT_REQUIRED,
                    "MAX_ORDERS_FOR_API_REQUEST_LIMIT_EXCEEDED",
                    format!("At most {MAX_ORDER_LIMIT} orders in one request, not {limit}"),
                ))
            }
            Some(limit) => limit,
        };
        Ok(OrderSearch {
            ids,
            updated,
            created,
            payment,
            fulfillment,
            offset,
            limit,
        })
    }

    fn matches(&self, order: &OrderRecord) -> bool {
        let within = |(from, to): (Option<i64>, Option<i64>), time: i64| {
            from.is_none_or(|from| time >= from) && to.is_none_or(|to| time <= to)
        };
        let listed = |list: &Option<BTreeSet<String>>, value: &str| {
            list.as_ref().is_none_or(|list| list.contains(value))
        };
        // Ecwid leaves unfinished orders out unless a payment status asks for them.
        let unfinished = self.payment.is_none() && order.payment == PaymentStatus::Incomplete;
        !unfinished
            && listed(&self.ids, order.id.as_str())
            && listed(&self.payment, order.payment.as_str())
            && listed(&self.fulfillment, order.fulfillment.as_str())
            && within(self.updated, order.updated)
            && within(self.created, order.created)
    }
}

/// A comma list of items each `valid` allows (none empty), or `None`.
fn comma_list(list: &str, valid: impl Fn(&str) -> bool) -> Option<BTreeSet<String>> {
    list.split(',')
        .map(|item| (!item.is_empty() && valid(item)).then(|| item.to_owned()))
        .collect()
}

impl State {
    /// `GET /orders/{orderId}`.
    pub(crate) fn get_order(&self, store: StoreId, order: OrderRef, query: &Query) -> Answer {
        let fields = match response_fields(query) {
            Ok(fields) => fields,
            Err(answer) => return answer,
        };
        match self.orders.get(store, order) {
            Some(record) => read_answer(order_body(record), fields.as_ref()),
            None => order_not_found(order),
        }
    }

    /// `GET /orders`: the matching orders in the order they were placed, a page at a time.
    pub(crate) fn search_orders(&self, store: StoreId, query: &Query) -> Answer {
        let (fields, search) = match (response_fields(query), OrderSearch::parse(query)) {
            (Ok(fields), Ok(search)) => (fields, search),
            (Err(answer), _) | (_, Err(answer)) => return answer,
        };
        let matches: Vec<&OrderRecord> = self
            .orders
            .of_store(store)
            .filter(|order| search.matches(order))
            .collect();
        let offset = usize::try_from(search.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(search.limit).unwrap_or(usize::MAX);
        let items: Vec<Order> = matches
            .iter()
            .skip(offset)
            .take(limit)
            .map(|order| order_body(order))
            .collect();
        let page = OrderPage {
            total: Some(count(matches.len())),
            count: Some(count(items.len())),
            offset: Some(search.offset),
            limit: Some(search.limit),
            items,
        };
        let mut page = serde_json::to_value(page).expect("generated types serialize");
        // The generated type leaves an empty list out; Ecwid sends `"items": []`.
        if page.get("items").is_none() {
            page["items"] = serde_json::Value::Array(Vec::new());
        }
        read_answer(page, fields.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_lists_follow_the_specs_patterns() {
        let read = |query: &str| OrderSearch::parse(&Query::parse(Some(query)).unwrap());
        assert!(read("ids=XJ12H,SALE-G01ZG&paymentStatus=PAID,AWAITING_PAYMENT").is_ok());
        assert!(read("fulfillmentStatus=CUSTOM_FULFILLMENT_STATUS_1").is_ok());
        for query in [
            "ids=",
            "ids=A,,B",
            "ids=A,",
            "ids=A%20B",
            "paymentStatus=",
            "paymentStatus=paid",
            "paymentStatus=PAID,",
            "fulfillmentStatus=SHIPPED%20",
            "createdFrom=yesterday",
            "limit=0",
            "offset=-1",
        ] {
            let answer = read(query).err().unwrap_or_else(|| panic!("{query}"));
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        }
        let too_many = read("limit=101").err().unwrap();
        assert_eq!(too_many.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(read("limit=100").ok().unwrap().limit, 100);
    }
}
