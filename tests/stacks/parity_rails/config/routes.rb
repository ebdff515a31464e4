Rails.application.routes.draw do
  devise_for :users
  get "/healthz", to: proc { [204, {}, []] }
  put "/notes/:key", to: "notes#write"
  get "/notes", to: "notes#index"
  root "notes#home"
end
