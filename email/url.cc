// placeholder: implemented by the url work
