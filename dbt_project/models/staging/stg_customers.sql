-- Customers from the raw_data source, with a clearer key name.
select
    id as customer_id,
    first_name,
    last_name
from {{ source('raw_data', 'raw_customers') }}
