// placeholder: implemented by the charset work
