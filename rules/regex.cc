// placeholder: implemented by the regex work
