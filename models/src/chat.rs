//! Chat templates: a model's Jinja `chat_template` rendered with minijinja.
