"""printing/escpos"""
