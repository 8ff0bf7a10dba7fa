{% macro days() -%}
select d::date as day from generate_series('{{ var("start") }}'::date, '{{ var("end") }}'::date, interval '1 day') d
{%- endmacro %}

{% macro local_day(column) -%}
({{ column }} at time zone '{{ var("tz") }}')::date
{%- endmacro %}

{% macro in_window(column) -%}
{{ column }} >= ('{{ var("start") }}'::date::timestamp at time zone '{{ var("tz") }}')
and {{ column }} < (('{{ var("end") }}'::date + 1)::timestamp at time zone '{{ var("tz") }}')
{%- endmacro %}
