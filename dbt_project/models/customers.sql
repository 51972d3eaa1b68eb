-- One row per customer with order history and lifetime value.
with customers as (
    select * from {{ ref('stg_customers') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
),

payments as (
    select * from {{ ref('stg_payments') }}
),

order_summary as (
    select
        customer_id,
        min(order_date) as first_order,
        max(order_date) as most_recent_order,
        count(*) as number_of_orders
    from orders
    group by customer_id
),

value_summary as (
    select
        orders.customer_id,
        sum(payments.amount) as lifetime_value
    from payments
    inner join orders on payments.order_id = orders.order_id
    group by orders.customer_id
)

select
    customers.customer_id,
    customers.first_name,
    customers.last_name,
    order_summary.first_order,
    order_summary.most_recent_order,
    coalesce(order_summary.number_of_orders, 0) as number_of_orders,
    coalesce(value_summary.lifetime_value, 0) as customer_lifetime_value
from customers
left join order_summary on customers.customer_id = order_summary.customer_id
left join value_summary on customers.customer_id = value_summary.customer_id
order by customers.customer_id
