// placeholder: implemented by the unicode work
