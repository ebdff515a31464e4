# Creates the users table and the test user: ruby setup.rb EMAIL PASSWORD
require_relative "config/environment"
ActiveRecord::Schema.define do
  create_table :users, force: true do |t|
    t.string :email, null: false, default: ""
    t.string :encrypted_password, null: false, default: ""
    t.timestamps null: true
  end
end
User.create!(email: ARGV[0], password: ARGV[1])
