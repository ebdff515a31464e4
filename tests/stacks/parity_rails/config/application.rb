# A Rails 6.1 app as its team writes it: Devise's own sign-in (a CSRF-protected form, sign-out
# by DELETE), sessions in Redis through redis-actionpack, one instance per process. Gems come
# from Debian's packages (ruby-rails, ruby-devise, ruby-redis-actionpack, ruby-sqlite3, puma).
require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require "action_view/railtie"
require "devise"
require "redis-actionpack"

class ParityRails < Rails::Application
  config.load_defaults 6.1
  config.eager_load = false
  config.logger = Logger.new($stdout, level: :warn)
  config.log_level = :warn
  config.secret_key_base = ENV.fetch("SECRET_KEY_BASE")
  config.hosts.clear
  config.session_store :redis_store,
                       servers: ["#{ENV.fetch('RAILS_REDIS_URL')}/session"],
                       key: "_shop_session",
                       expire_after: 14.days
end
