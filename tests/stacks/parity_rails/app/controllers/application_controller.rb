class ApplicationController < ActionController::Base
  after_action { response.set_header("X-Instance-Id", ENV.fetch("INSTANCE_ID")) }
end
