Devise.setup do |config|
  require "devise/orm/active_record"
  config.secret_key = ENV.fetch("SECRET_KEY_BASE")
  config.mailer_sender = "parity@example.com"
  config.stretches = 1 # tests only: fast logins
  config.sign_out_via = :delete
  config.navigational_formats = ["*/*", :html]
end
