-- One row per order, with the paid amount split by payment method.
{% set payment_methods = ['credit_card', 'coupon', 'bank_transfer', 'gift_card'] %}

with orders as (
    select * from {{ ref('stg_orders') }}
),

payments as (
    select * from {{ ref('stg_payments') }}
),

paid_by_method as (
    select
        order_id,
        {% for method in payment_methods -%}
        sum(case when payment_method = '{{ method }}' then amount else 0 end) as {{ method }}_amount,
        {% endfor -%}
        sum(amount) as total_amount
    from payments
    group by order_id
)

select
    orders.order_id,
    orders.customer_id,
    orders.order_date,
    orders.status,
    {% for method in payment_methods -%}
    coalesce(paid_by_method.{{ method }}_amount, 0) as {{ method }}_amount,
    {% endfor -%}
    coalesce(paid_by_method.total_amount, 0) as amount
from orders
left join paid_by_method on orders.order_id = paid_by_method.order_id
order by orders.order_id
