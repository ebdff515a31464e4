# The app's session endpoint for Parity: PUT /notes/KEY {value} stores, GET /notes reads.
class NotesController < ApplicationController
  before_action :authenticate_user!, except: :home

  def home
    render html: helpers.csrf_meta_tags, layout: false
  end

  def write
    session[:data] = (session[:data] || {}).merge(params[:key] => params[:value])
    render json: { ok: true }
  end

  def index
    render json: { user: current_user.email, data: session[:data] || {} }
  end
end
