"""kiosk/audit"""
